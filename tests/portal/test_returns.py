"""Portal returns: many leads in one submit or one upload, a reason from the entity's list, the partner's own words."""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime, timedelta

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Delivery, Return
from leadbill.deliveries.selectors import DEFAULT_RETURN_REASONS
from tests.factories import make_deliveries, make_delivery, make_lead_type
from tests.webworld import ACME_USER, Site


def page_of(response) -> str:
    return html.unescape(response.content.decode())


def upload(client, text: str | bytes, **data):
    body = io.BytesIO(text.encode() if isinstance(text, str) else text)
    body.name = "leads.csv"
    return client.post("/portal/returns/", {"action": "upload", "file": body, **data})


def fresh_leads(site: Site, count: int, **kw) -> list[Delivery]:
    return make_deliveries(
        site.acme, count, datetime.now(UTC) - timedelta(days=2), lead_type=make_lead_type(site.entity), **kw
    )


def test_three_selected_leads_are_returned_in_one_submit_each_audited(site: Site):
    leads = fresh_leads(site, 4)
    acme = site.login(ACME_USER)
    before = AuditEvent.objects.filter(action="return.requested").count()
    response = acme.post("/portal/returns/", {"action": "select", "delivery": [d.pk for d in leads[:3]],
                                             "reason": "Duplicate lead"})  # fmt: skip
    assert response.status_code == 302
    made = Return.objects.filter(delivery__in=leads)
    assert sorted(made.values_list("delivery_id", flat=True)) == sorted(d.pk for d in leads[:3])
    assert set(made.values_list("reason", "status")) == {("Duplicate lead", "requested")}
    assert AuditEvent.objects.filter(action="return.requested").count() == before + 3
    batch = AuditEvent.objects.get(action="returns.requested")
    assert batch.data["requested"] == 3 and batch.data["refused"] == 0
    assert "3 leads returned" in page_of(acme.get("/portal/returns/"))


def test_the_reason_comes_from_the_entitys_list_and_other_needs_words(site: Site):
    site.entity.return_reasons = ["Bad phone", "Not in area"]
    site.entity.save()
    (lead,) = fresh_leads(site, 1)
    acme = site.login(ACME_USER)
    page = page_of(acme.get("/portal/returns/"))
    assert "<option>Bad phone</option>" in page and "<option>Other</option>" in page
    assert DEFAULT_RETURN_REASONS[0] not in page
    for data, problem in (({}, "Choose a reason."), ({"reason": "Duplicate lead"}, "is not one"),
                          ({"reason": "Other"}, "Say what the other reason is.")):  # fmt: skip
        response = acme.post("/portal/returns/", {"delivery": [lead.pk], **data})
        assert response.status_code == 400 and problem in page_of(response)
        assert f'value="{lead.pk}" id="d{lead.pk}" checked' in page_of(response)  # the selection is kept
    assert not Return.objects.filter(delivery=lead).exists()
    response = acme.post("/portal/returns/", {"delivery": [lead.pk], "reason": "Other", "other": "called a fax line"})
    assert response.status_code == 302
    assert Return.objects.get(delivery=lead).reason == "Other: called a fax line"


def test_a_lead_delivered_twice_is_returned_for_each_delivery(site: Site):
    now = datetime.now(UTC)
    first = make_delivery(site.acme, now - timedelta(days=3), lead_id="L-77", external_id="dl-11-0000591")
    second = make_delivery(site.acme, now - timedelta(days=1), lead_id="L-77", external_id="dl-11-0000592")
    acme = site.login(ACME_USER)
    page = page_of(acme.get("/portal/returns/", {"lead": "L-77"}))
    assert f'value="{first.pk}"' in page and f'value="{second.pk}"' in page
    response = upload(acme, "lead_id\nL-77\n", reason="Duplicate lead")
    assert response.status_code == 302
    assert list(Return.objects.filter(delivery__lead_id="L-77").values_list("delivery_id", flat=True)) == [second.pk]
    response = upload(acme, "lead_id\nL-77\nL-77\n", reason="Duplicate lead")
    assert response.status_code == 400
    page = page_of(response)
    assert "1 lead returned" in page
    assert "Row 3, lead L-77</strong>: delivered 2 times, and each delivery already has a return request" in page
    assert "dl-11" not in page  # never our external ids
    assert set(Return.objects.filter(delivery__lead_id="L-77").values_list("delivery_id", flat=True)) == {
        first.pk,
        second.pk,
    }


def test_an_upload_follows_spreadsheet_rules_and_names_each_bad_row(site: Site):
    leads = fresh_leads(site, 3)
    zeros = make_delivery(site.acme, datetime.now(UTC) - timedelta(days=1), lead_id="00123")
    old = make_delivery(
        site.acme, datetime.now(UTC) - timedelta(days=4000), lead_id="L-OLD", external_id="dl-11-0000007"
    )
    text = ("\ufefflead_id;reason\n"  # Excel's UTF-8 CSV in a semicolon locale
            f"{leads[0].lead_id};Duplicate lead\n"
            f"'{leads[1].lead_id};other: never answered\n"  # our exports' apostrophe
            '="00123";\n'  # the form's reason; a spreadsheet's kept-as-text number
            "=HYPERLINK(\"x\");Duplicate lead\n"
            "nope-1;Duplicate lead\n"
            f"{leads[2].lead_id};Because\n"
            "L-OLD;Duplicate lead\n"
            ";\n")  # fmt: skip
    acme = site.login(ACME_USER)
    response = upload(acme, text, reason="Fake or test data")
    assert response.status_code == 400
    page = page_of(response)
    assert "3 leads returned" in page
    assert 'Row 5, lead =HYPERLINK("x")</strong>: a formula, not a lead id; paste the value' in page
    assert "Row 6, lead nope-1</strong>: no such lead was delivered to Acme Insurance" in page
    assert f"Row 7, lead {leads[2].lead_id}</strong>: reason: reason 'Because' is not one of the listed reasons" in page
    assert ("Row 8, lead L-OLD</strong>: it was delivered more than 3650 days ago; returns are accepted within "
            "3650 days of delivery") in page  # fmt: skip
    assert "dl-11" not in page and str(old.pk) not in page.split("Row 8")[1][:80]
    reasons = dict(Return.objects.filter(delivery__partner=site.acme).values_list("delivery__lead_id", "reason"))
    assert reasons[leads[0].lead_id] == "Duplicate lead"
    assert reasons[leads[1].lead_id] == "Other: never answered"
    assert reasons[zeros.lead_id] == "Fake or test data"
    assert leads[2].lead_id not in reasons


def test_an_upload_is_bounded_in_size_and_rows(site: Site):
    acme = site.login(ACME_USER)
    response = upload(acme, "lead_id\nlead-1\n" + "x" * 140_000 + "\n", reason="Duplicate lead")
    assert response.status_code == 400 and "Row 3</strong>: not readable as CSV" in page_of(response)
    response = upload(acme, "lead_id\nbad\x00id\n", reason="Duplicate lead")
    assert response.status_code == 400 and "Row 2</strong>: " in page_of(response)
    response = upload(acme, b"lead_id\n" + b"x" * (300 * 1024), reason="Duplicate lead")
    assert response.status_code == 400 and "larger than 256 KB" in page_of(response)
    response = upload(acme, "lead_id\n" + "".join(f"n-{i}\n" for i in range(1_005)), reason="Duplicate lead")
    assert response.status_code == 400
    assert "Row 1002</strong>: a file holds at most 1,000 leads; the rest were not read" in page_of(response)


def test_the_share_limit_is_said_in_the_partners_terms(site: Site):
    site.acme.return_max_share_bp = 2500
    site.acme.save()
    leads = fresh_leads(site, 4)
    acme = site.login(ACME_USER)
    response = acme.post("/portal/returns/", {"delivery": [d.pk for d in leads[:2]], "reason": "Duplicate lead"})
    assert response.status_code == 400
    page = page_of(response)
    assert "1 lead returned" in page
    assert "returning it would take your returns above the agreed 25.00 % of a month's leads" in page
    assert "'acme'" not in page


def test_the_lead_type_lists_show_only_the_types_the_partner_bought(site: Site):
    make_lead_type(site.entity, "solar")  # in the catalogue, never delivered to acme
    make_delivery(site.blue, datetime.now(UTC), lead_type=make_lead_type(site.entity, "home"))  # another's
    acme = site.login(ACME_USER)
    for path in ("/portal/returns/", "/portal/report/"):
        page = page_of(acme.get(path))
        assert '<option value="auto"' in page, path
        assert 'value="solar"' not in page and 'value="home"' not in page, path
    response = acme.get("/portal/returns/", {"lead_type": "solar"})
    assert "not a lead type you bought" in page_of(response)


def test_the_returns_page_reads_a_fixed_number_of_queries(site: Site, django_assert_max_num_queries):
    leads = fresh_leads(site, 80)
    from leadbill.deliveries.services import return_request

    for d in leads[::3]:
        return_request(actor="test", delivery=d, reason="Duplicate lead")
    acme = site.login(ACME_USER)
    with django_assert_max_num_queries(8):
        page = page_of(acme.get("/portal/returns/"))
    returned = {d.pk for d in leads[::3]}
    assert page.count('name="delivery"') == 50 - sum(1 for d in leads[-50:] if d.pk in returned)
    assert 'rel="next"' in page


def test_the_console_returns_page_shows_the_partners_reason(site: Site):
    (lead,) = fresh_leads(site, 1)
    site.login(ACME_USER).post("/portal/returns/", {"delivery": [lead.pk], "reason": "Other", "other": "fax line"})
    page = page_of(site.login("finance@leadco.test").get("/console/leadco/returns/"))
    assert lead.lead_id in page and "Other: fax line" in page
