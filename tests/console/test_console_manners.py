"""Console manners (issue 18): entity switcher, business details, times with their zone, a readable audit
trail, invoice totals and export, the dashboard chart, the email sender and the global search."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadbill.audit.models import AuditEvent
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Invoice
from leadbill.loader.schema import SetupFileError, parse_document
from leadbill.web.models import StaffMembership
from leadbill.web.services import staff_add
from tests.factories import make_deliveries, make_partner, make_plan
from tests.webworld import JAN, OTHER_ADMIN, PASSWORD, STAFF, Site


def text(response) -> str:
    return html.unescape(response.content.decode())


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def admin(site: Site):
    return site.login(STAFF["admin"])


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


# --- entity switcher --------------------------------------------------------------------------


def _member_of_both(site: Site, role: str = "finance") -> None:
    from django.contrib.auth.models import User

    user = User.objects.get(username=STAFF["admin"])
    StaffMembership.objects.create(user=user, entity=site.other, role=role)


def test_the_switcher_keeps_the_page_kind_and_falls_back_to_the_list_for_one_object(site: Site, admin):
    assert "Switch business" not in text(admin.get("/console/leadco/invoices/"))  # one entity: no switcher
    _member_of_both(site)
    page = text(admin.get("/console/leadco/invoices/"))
    assert 'href="/console/other/invoices/"' in page and "Switch business" in page
    page = text(admin.get(f"/console/leadco/invoices/{site.acme_invoice.number}/"))
    assert 'href="/console/other/invoices/"' in page  # an invoice of leadco is not in other: its list
    page = text(admin.get("/console/leadco/settings/details/"))
    assert 'href="/console/other/"' in page  # admin here, finance there: the dashboard
    page = text(admin.get("/console/leadco/search/", {"q": "acme"}))
    assert 'href="/console/other/search/?q=acme"' in page


def test_the_switcher_lists_only_the_users_own_entities(site: Site):
    third = Entity.objects.create(slug="third", legal_name="Third Co", country="DE", currency="EUR",
                                  timezone="UTC", invoice_prefix="T-")  # fmt: skip
    staff_add(actor="t", entity=site.other, email=STAFF["finance"], name="F", role="readonly", password=PASSWORD)
    page = text(site.login(STAFF["finance"]).get("/console/leadco/"))
    assert "/console/other/" in page and "/console/third/" not in page and third.legal_name not in page


# --- business details -----------------------------------------------------------------------


def test_admin_edits_the_address_and_only_that_section_changes(site: Site, admin):
    entity = site.entity
    entity.mail_from_name, entity.iban = "Leadco Billing", "DE89370400440532013000"
    entity.save()
    response = admin.post("/console/leadco/settings/details/", {
        "section": "address", "address.line1": "5 Broadway", "address.city": "New York", "address.postal_code": "10004",
        "address.region": "new york", "address.country": "US", "tax_id": "", "email": "billing@leadco.test",
    })  # fmt: skip
    assert response.status_code == 302
    entity.refresh_from_db()
    assert (entity.address_line1, entity.city, entity.region, entity.country) == ("5 Broadway", "New York", "NY", "US")
    assert entity.mail_from_name == "Leadco Billing" and entity.iban == "DE89370400440532013000"  # not in the form
    event = AuditEvent.objects.filter(action="entity.details_changed").latest("pk")
    assert event.data["changed"]["city"] == ["Berlin", "New York"] and "iban" not in event.data["changed"]
    audit = text(admin.get("/console/leadco/audit/"))
    assert "Berlin" in audit and "New York" in audit and "→" in audit and "{'" not in audit


def test_bad_details_are_refused_by_the_set_up_file_rules_and_what_was_typed_stays(site: Site, admin):
    before = Entity.objects.get(pk=site.entity.pk)
    response = admin.post("/console/leadco/settings/details/", {
        "section": "address", "address.line1": "5 Broadway", "address.city": "Austin", "address.country": "US",
        "address.region": "", "tax_id": "DE000", "email": "not-an-address",
    })  # fmt: skip
    page = text(response)
    assert response.status_code == 400
    assert (
        "State, province or region: required" in page and "Email: not an e-mail address" in page and "Tax id:" in page
    )
    assert 'value="Austin"' in page  # what was typed is shown again
    after = Entity.objects.get(pk=site.entity.pk)
    assert (after.city, after.country, after.tax_id) == (before.city, before.country, before.tax_id)


def test_payment_accounts_go_through_the_identifier_checks(site: Site, admin):
    response = admin.post("/console/leadco/settings/details/", {
        "section": "bank", "payment_accounts[0].currency": "EUR", "payment_accounts[0].iban": "DE89 3704 0044 0532 0130 00",
        "payment_accounts[1].currency": "USD", "payment_accounts[1].ach_routing": "123456789",
        "payment_accounts[1].ach_account": "000123",
    })  # fmt: skip
    page = text(response)
    assert response.status_code == 400 and "Account 2, ACH routing number: " in page
    response = admin.post("/console/leadco/settings/details/", {
        "section": "bank", "payment_accounts[0].currency": "EUR", "payment_accounts[0].iban": "DE89 3704 0044 0532 0130 00",
        "remit_to": "Leadco\nPO Box 1",
    })  # fmt: skip
    assert response.status_code == 302
    entity = Entity.objects.get(pk=site.entity.pk)
    assert entity.payment_accounts == [{"currency": "EUR", "iban": "DE89370400440532013000"}]
    assert entity.remit_to == "Leadco\nPO Box 1"


def test_return_reasons_and_mail_sender_are_saved(site: Site, admin):
    admin.post(
        "/console/leadco/settings/details/", {"section": "returns", "return_reasons": "Bad phone\n\nDuplicate\n"}
    )
    admin.post("/console/leadco/settings/details/", {"section": "mail", "mail_from_name": "Leadco Billing",
                                                     "mail_from_address": "billing@leadco.test",
                                                     "invitation_text": "Welcome aboard."})  # fmt: skip
    entity = Entity.objects.get(pk=site.entity.pk)
    assert entity.return_reasons == ["Bad phone", "Duplicate"]
    assert (entity.mail_from_name, entity.mail_from_address, entity.invitation_text) == (
        "Leadco Billing", "billing@leadco.test", "Welcome aboard.")  # fmt: skip
    page = text(admin.post("/console/leadco/settings/details/", {"section": "returns",
                                                                "return_reasons": "Dup\ndup"}))  # fmt: skip
    assert "Reasons, line 2: reason 'dup' is already given at return_reasons[0]" in page


def test_admin_sets_credit_on_account_to_manual_and_no_other_section_resets_it(site: Site, admin):
    url = "/console/leadco/settings/details/"
    assert site.entity.credit_on_account == "automatic"
    page = text(admin.get(url))
    assert 'name="credit_on_account" value="automatic" checked' in page
    assert admin.post(url, {"section": "credit", "credit_on_account": "manual"}).status_code == 302
    assert Entity.objects.get(pk=site.entity.pk).credit_on_account == "manual"
    event = AuditEvent.objects.filter(action="entity.details_changed").latest("pk")
    assert event.data["changed"] == {"credit_on_account": ["automatic", "manual"]}
    assert 'name="credit_on_account" value="manual" checked' in text(admin.get(url))
    admin.post(url, {"section": "mail", "mail_from_name": "Leadco Billing"})  # a form without it keeps it
    assert Entity.objects.get(pk=site.entity.pk).credit_on_account == "manual"
    for sent, problem in (({"credit_on_account": "sometimes"}, "one of automatic, manual"), ({}, "required")):
        response = admin.post(url, {"section": "credit", **sent})
        assert response.status_code == 400 and f"Credit on account: {problem}" in text(response)
    assert Entity.objects.get(pk=site.entity.pk).credit_on_account == "manual"


def test_business_details_are_for_admins_only(site: Site, finance):
    assert finance.get("/console/leadco/settings/details/").status_code == 403
    assert finance.post("/console/leadco/settings/details/", {"section": "mail"}).status_code == 403


def test_the_set_up_file_takes_the_mail_and_returns_keys():
    document = parse_document("""
entities:
  - slug: x
    legal_name: X Ltd
    address: {country: DE}
    currency: EUR
    timezone: Europe/Berlin
    invoice_prefix: X-
    mail_from_name: X Billing
    mail_from_address: billing@x.example
    invitation_text: "Welcome to X."
    return_reasons: [Bad phone, Duplicate]
""")
    columns = document.entities[0].columns()
    assert columns["mail_from_name"] == "X Billing" and columns["return_reasons"] == ["Bad phone", "Duplicate"]
    with pytest.raises(SetupFileError) as refused:
        parse_document("""
entities:
  - slug: x
    legal_name: X Ltd
    address: {country: DE}
    currency: EUR
    timezone: Europe/Berlin
    invoice_prefix: X-
    mail_from_address: nope
    return_reasons: [Bad, bad, ""]
""")
    found = {p.path for p in refused.value.problems}
    assert {"entities[0].mail_from_address", "entities[0].return_reasons[1]", "entities[0].return_reasons[2]"} <= found


# --- times --------------------------------------------------------------------------------


def test_times_show_the_entitys_zone(site: Site, finance):
    Entity.objects.filter(pk=site.entity.pk).update(timezone="America/New_York")
    page = text(finance.get(f"/console/leadco/runs/{site.run.pk}/"))
    local = site.run.started_at.astimezone(ZoneInfo("America/New_York"))
    assert local.strftime("%Y-%m-%d %H:%M %Z") in page and ("EST" in page or "EDT" in page)
    assert local.strftime("%Y-%m-%d %H:%M") in text(finance.get("/console/leadco/runs/"))


# --- audit trail ----------------------------------------------------------------------------


def test_the_audit_trail_reads_as_names_money_and_changes(site: Site, finance):
    inv = site.acme_invoice
    from leadbill.invoicing.services import payment_record

    payment_record(actor="user:finance@leadco.test", invoice=inv, amount_minor=250, paid_on=JAN.date(),
                   reference="wire 1")  # fmt: skip
    page = text(finance.get("/console/leadco/audit/"))
    assert f"Invoice {inv.number}" in page and "€2.50" in page and "'amount_minor'" not in page
    assert "finance@leadco.test" in page and "user:finance" not in page.split("<tbody>")[1].split("<small")[0]
    assert text(finance.get("/console/leadco/audit/", {"actor": "finance@leadco.test"})).count("€2.50") >= 1


def test_long_audit_values_are_cut_with_the_whole_value_on_expand(site: Site, finance):
    from django.db import transaction

    from leadbill.audit.services import audit_record

    long = "x" * 300
    with transaction.atomic():
        audit_record(actor="t", action="partner.note", obj=site.acme, entity=site.entity, note=long)
    page = text(finance.get("/console/leadco/audit/"))
    assert '<details class="long">' in page and long in page and ("x" * 79 + "…") in page


def test_the_audit_page_runs_a_fixed_number_of_queries(site: Site, finance):
    from django.db import transaction

    from leadbill.audit.services import audit_record

    few = queries(finance, "/console/leadco/audit/")
    with transaction.atomic():
        for n in range(30):
            partner = make_partner(site.entity, code=f"audit-{n}")
            audit_record(actor="t", action="partner.note", obj=partner, entity=site.entity, amount_minor=n,
                         partner=partner.code, changed={"name": ["a", "b"]})  # fmt: skip
            audit_record(
                actor="t", action="invoice.note", obj=site.acme_invoice, entity=site.entity, partner_id=partner.pk
            )
    assert queries(finance, "/console/leadco/audit/") <= few + 2  # partners by id and by code join the page's lookups


# --- invoice list -------------------------------------------------------------------------


def test_invoice_list_has_totals_for_the_filter_and_an_export_of_it(site: Site, finance):
    site.acme.name = '=HYPERLINK("x")'
    site.acme.save()
    page = text(finance.get("/console/leadco/invoices/", {"kind": "invoice"}))
    inv = Invoice.objects.get(pk=site.acme_invoice.pk)
    assert "1 document" in page and "€7.14" in page and "Export CSV" in page
    assert "/console/leadco/invoices/export.csv?kind=invoice" in page
    response = finance.get("/console/leadco/invoices/export.csv", {"kind": "invoice"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["number", "kind", "status", "partner"]
    assert len(rows) == 2 and rows[1][0] == inv.number and rows[1][4].startswith("'=") and rows[1][11] == "7.14"


def test_invoice_list_with_totals_runs_a_fixed_number_of_queries(site: Site, finance):
    few = queries(finance, "/console/leadco/invoices/")
    for n in range(15):
        partner = make_partner(site.entity, code=f"extra-{n}")
        make_plan(partner)
        make_deliveries(partner, 2, JAN)
    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue

    invoice_run_issue(actor="t", entity=site.entity, period=periods.month(2026, 1, "UTC"))
    assert queries(finance, "/console/leadco/invoices/") == few


# --- dashboard -----------------------------------------------------------------------------


def test_the_chart_ends_with_this_month_and_labels_stay_short(site: Site, finance):
    from leadbill.console.views.dashboard import _months_back, _short

    assert _months_back(2026, 12, 12)[-1] == (2026, 12) and _months_back(2026, 1, 12)[0] == (2025, 2)
    assert _short(123_456_78, "USD", "en_US") == "$123.5K"
    assert _short(123_456_78, "EUR", "de_DE") == ""  # German money does not shorten: the tooltip says it
    page = text(finance.get("/console/leadco/"))
    assert page.count('class="bar"') == 12 and "(so far)" in page and page.count('<g class="current">') == 1


# --- email ---------------------------------------------------------------------------------


def test_mail_goes_out_from_the_business(site: Site, finance, django_capture_on_commit_callbacks):
    Entity.objects.filter(pk=site.entity.pk).update(mail_from_name="Leadco Billing", mail_from_address="ar@leadco.test")
    with django_capture_on_commit_callbacks(execute=True):
        finance.post(f"/console/leadco/invoices/{site.acme_invoice.number}/send/")
    assert mail.outbox[-1].from_email == "Leadco Billing <ar@leadco.test>"


def test_without_a_sender_mail_is_from_the_legal_name_at_the_servers_address(site: Site):
    from leadbill.mailing.sender import entity_sender

    assert entity_sender(site.entity) == f"{site.entity.legal_name} <billing@localhost>"
    assert entity_sender(site.entity, "Ops <ops@x.test>") == "Ops <ops@x.test>"


def test_the_invitation_names_the_business_and_uses_its_text(site: Site, django_capture_on_commit_callbacks):
    Entity.objects.filter(pk=site.entity.pk).update(invitation_text="We bill on the 1st; questions to Ana.",
                                                    mail_from_address="hello@leadco.test")  # fmt: skip
    entity = Entity.objects.get(pk=site.entity.pk)
    with django_capture_on_commit_callbacks(execute=True):
        staff_add(actor="t", entity=entity, email="new@leadco.test", name="New", role="readonly", base_url="http://x")
    message = mail.outbox[-1]
    assert entity.legal_name in message.subject and "Leadbill" not in message.subject
    assert "We bill on the 1st; questions to Ana." in message.body and entity.legal_name in message.body
    assert message.from_email.endswith("<hello@leadco.test>") and entity.legal_name in message.from_email


# --- search --------------------------------------------------------------------------------


def test_search_finds_a_lead_its_delivery_and_its_invoice(site: Site, finance):
    from leadbill.deliveries.models import Delivery

    lead = Delivery.objects.filter(partner=site.acme).order_by("pk").first()
    page = text(finance.get("/console/leadco/search/", {"q": lead.lead_id}))
    assert lead.lead_id in page and site.acme_invoice.number in page
    assert f"/console/leadco/invoices/{site.acme_invoice.number}/" in page
    assert "/console/leadco/deliveries/?partner=acme&amp;from=2026-01-05&amp;to=2026-01-05" in response_html(
        finance, lead.lead_id
    )
    page = text(finance.get("/console/leadco/search/", {"q": lead.external_id}))
    assert site.acme_invoice.number in page
    one = finance.get("/console/leadco/search/", {"q": site.acme_invoice.number, "go": "1"})
    assert one.status_code == 302 and one.url == f"/console/leadco/invoices/{site.acme_invoice.number}/"
    assert "Acme Insurance" in text(finance.get("/console/leadco/search/", {"q": "acm"}))
    assert "Acme Insurance" in text(finance.get("/console/leadco/search/", {"q": "Acme"}))


def response_html(client, q: str) -> str:
    return client.get("/console/leadco/search/", {"q": q}).content.decode()


def test_search_finds_nothing_of_an_entity_the_user_is_not_staff_of(site: Site, finance):
    other_lead = site.other_invoice
    page = text(finance.get("/console/leadco/search/", {"q": other_lead.number}))
    assert "Nothing found" in page
    assert "Other Acme" not in text(finance.get("/console/leadco/search/", {"q": "Other"}))
    page = text(site.login(OTHER_ADMIN).get("/console/other/search/", {"q": "Other"}))
    assert "Other Acme" in page


def test_search_spans_the_users_entities_and_says_which(site: Site, admin):
    _member_of_both(site, role="readonly")
    page = text(admin.get("/console/leadco/search/", {"q": "acme"}))
    assert "Acme Insurance" in page and "Other Acme" in page and site.other.legal_name in page


def test_search_refuses_control_characters_and_caps_its_results(site: Site, finance):
    assert "Not searched" in text(finance.get("/console/leadco/search/", {"q": "a\x00b"}))
    for n in range(25):
        make_partner(site.entity, code=f"zz-{n:02d}", name=f"Zz {n}")
    page = text(finance.get("/console/leadco/search/", {"q": "zz"}))
    assert page.count("/console/leadco/partners/zz-") == 20


def test_search_runs_a_fixed_number_of_queries(site: Site, finance):
    from leadbill.deliveries.models import Delivery

    lead = Delivery.objects.filter(partner=site.acme).first()
    few = queries(finance, f"/console/leadco/search/?q={lead.lead_id}")
    for n in range(10):
        Delivery.objects.create(entity_id=site.entity.pk, partner=site.acme, lead_type=lead.lead_type,
                                external_id=f"dup-{n}", lead_id=lead.lead_id,
                                delivered_at=datetime(2026, 1, 6, tzinfo=UTC), currency="EUR")  # fmt: skip
    assert queries(finance, f"/console/leadco/search/?q={lead.lead_id}") == few


def test_the_dashboard_runs_a_fixed_number_of_queries(site: Site, finance):
    few = queries(finance, "/console/leadco/")
    for n in range(10):
        partner = make_partner(site.entity, code=f"dash-{n}")
        make_plan(partner)
        make_deliveries(partner, 2, JAN)
    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue

    invoice_run_issue(actor="t", entity=site.entity, period=periods.month(2026, 1, "UTC"))
    assert queries(finance, "/console/leadco/") == few
