"""The console's delivery log (billed prices, invoice links, totals) and its CSV import."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Delivery, DeliveryImport
from tests.factories import make_deliveries, make_lead_type
from tests.webworld import JAN, STAFF, Site

HEADER = "external_id,partner,profile,lead_type,lead_id,delivered_at,price,currency"


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_billed_leads_show_their_billed_price_and_invoice(site: Site, finance):
    response = finance.get("/console/leadco/deliveries/", {"partner": "acme"})
    page = text(response)
    number = site.acme_invoice.number
    assert f'href="/console/leadco/invoices/{number}/">{number}</a>' in page
    assert ">plan<" not in page
    billed = [row for row in response.context["rows"] if row.is_billed]
    assert billed and all(row.billed_minor == 200 for row in billed)


def test_the_log_counts_and_totals_the_whole_filter(site: Site, finance):
    make_deliveries(site.acme, 4, JAN + timedelta(days=40))  # unbilled
    page = text(finance.get("/console/leadco/deliveries/", {"partner": "acme"}))
    assert "<strong>7</strong> deliveries, 3 billed for <strong>€6.00</strong>" in page
    page = text(finance.get("/console/leadco/deliveries/", {"partner": "acme", "status": "unbilled"}))
    assert "<strong>4</strong> deliveries, 0 billed for <strong>€0.00</strong>" in page


def test_status_labels_read_as_words(site: Site, finance):
    page = text(finance.get("/console/leadco/deliveries/"))
    assert '<option value="return_requested">Return requested</option>' in page
    assert "Returnrequested" not in page


def test_the_log_runs_a_fixed_number_of_queries(site: Site, finance, django_assert_max_num_queries):
    make_deliveries(site.acme, 60, JAN + timedelta(days=40))
    finance.get("/console/leadco/deliveries/")  # warm the session
    with django_assert_max_num_queries(9):  # session, user, membership, page, size probe, totals, partners, lead types…
        response = finance.get("/console/leadco/deliveries/")
    assert len(response.context["rows"]) == 50


def upload(finance, body: str | bytes, name: str = "leads.csv"):
    """Upload a file; the inline task backend runs the import after commit, as in the embedded set-up."""
    content = body.encode() if isinstance(body, str) else body
    with TestCase.captureOnCommitCallbacks(execute=True):
        return finance.post("/console/leadco/deliveries/import/",
                            {"file": SimpleUploadedFile(name, content, content_type="text/csv")})  # fmt: skip


def test_an_import_keeps_good_rows_and_names_the_bad_row_and_field(site: Site, finance):
    body = (f"{HEADER}\n"
            "imp-1,acme,,auto,L1,2026-01-20T10:00:00+00:00,,EUR\n"
            "imp-2,acme,,auto,L2,2026-01-20T10:01:00+00:00,abc,EUR\n"
            "imp-3,nobody,,auto,L3,2026-01-20T10:02:00+00:00,,EUR\n"
            "imp-4,blue,,auto,L4,2026-01-20T10:03:00+00:00,1.25,EUR\n")  # fmt: skip
    response = upload(finance, body)
    assert response.status_code == 302
    done = finance.get(response["Location"])
    page = text(done)
    assert set(Delivery.objects.filter(external_id__startswith="imp-").values_list("external_id", flat=True)) == {
        "imp-1",
        "imp-4",
    }
    assert "2 deliveries imported" in page and "<strong>2</strong> bad rows" in page
    assert '<td class="num">3</td><td><code>price</code></td>' in page
    assert '<td class="num">4</td><td><code>partner</code></td>' in page
    upload_row = DeliveryImport.objects.get()
    assert upload_row.state == "done" and upload_row.content == b"" and upload_row.result["created"] == 2
    assert AuditEvent.objects.filter(action="deliveries.imported").exists()  # the CLI's service wrote it
    # the same file again: nothing new, the good rows already present
    again = text(finance.get(upload(finance, body)["Location"]))
    assert "0 deliveries imported" in again and "2 already present" in again


def test_a_file_that_is_not_a_delivery_file_is_refused_whole(site: Site, finance):
    page = text(finance.get(upload(finance, "just,some,columns\n1,2,3\n")["Location"]))
    assert "Not imported" in page and "header: missing column(s)" in page


def test_a_file_in_another_encoding_is_refused_with_the_reason(site: Site, finance):
    response = upload(finance, HEADER.encode() + b"\n\xff\xfe,\n")
    assert "not UTF-8" in text(finance.get(response["Location"]))


def test_no_file_and_read_only_staff(site: Site, finance):
    response = finance.post("/console/leadco/deliveries/import/", {})
    assert response.status_code == 400 and "choose a CSV file" in text(response)
    reader = site.login(STAFF["readonly"])
    assert upload(reader, f"{HEADER}\n").status_code == 403
    assert not DeliveryImport.objects.exists()


def test_another_entitys_import_is_not_found(site: Site, finance):
    other = DeliveryImport.objects.create(entity=site.other, file_name="x.csv", created_by="t")
    assert finance.get(f"/console/leadco/deliveries/import/{other.pk}/").status_code == 404


def test_totals_of_any_range_come_from_the_billing_summary_whatever_its_size(site: Site, finance, monkeypatch):
    """All, billed and unbilled selections are totalled from the summary, beyond the delivery-scan bound."""
    from leadbill.deliveries import selectors

    monkeypatch.setattr(selectors, "SUMMARY_MAX_ROWS", 1)
    monkeypatch.setattr("leadbill.console.views.deliveries.deliveries_summary", None)  # no delivery scan at all
    whole = Delivery.objects.filter(entity=site.entity).count()
    page = text(finance.get("/console/leadco/deliveries/"))
    assert f"<strong>{whole}</strong> deliveries" in page and "narrow the filters" not in page
    page = text(finance.get("/console/leadco/deliveries/", {"partner": "blue"}))
    assert "<strong>2</strong> deliveries, 2 billed for" in page
    make_deliveries(site.acme, 2, JAN, lead_type=make_lead_type(site.entity, "solar"))
    page = text(finance.get("/console/leadco/deliveries/", {"lead_type": "solar", "status": "unbilled"}))
    assert "<strong>2</strong> deliveries, 0 billed" in page


def test_a_status_the_summary_does_not_hold_is_totalled_from_the_deliveries_within_the_bound(
    site: Site, finance, monkeypatch
):
    """A returned lead may have been billed first, so "returned" is counted from the deliveries, bounded."""
    from leadbill.deliveries import selectors

    bound = Delivery.objects.filter(partner=site.acme).count()  # acme's range fits; the entity's does not
    assert Delivery.objects.filter(entity=site.entity).count() > bound
    monkeypatch.setattr(selectors, "SUMMARY_MAX_ROWS", bound)
    page = text(finance.get("/console/leadco/deliveries/", {"status": "returned"}))
    assert "More than" in page and "in this range" in page and "billed for" not in page
    narrowed = text(finance.get("/console/leadco/deliveries/", {"status": "returned", "partner": "acme"}))
    returned = Delivery.objects.filter(partner=site.acme, returns__status="accepted").count()
    assert "More than" not in narrowed
    assert (f"<strong>{returned}</strong> deliver" in narrowed) if returned else ("billed for" not in narrowed)


def test_a_redelivered_job_finishes_an_interrupted_import_and_never_redoes_a_finished_one(site: Site):
    from leadbill.deliveries.services import delivery_import_run

    body = f"{HEADER}\nre-1,acme,,auto,R1,2026-01-20T10:00:00+00:00,,EUR\n".encode()
    upload = DeliveryImport.objects.create(entity=site.entity, file_name="r.csv", content=body, size_bytes=len(body),
                                           created_by="t", state="running")  # its worker died mid-import  # fmt: skip
    assert delivery_import_run(upload.pk).state == "done"
    assert Delivery.objects.filter(external_id="re-1").count() == 1
    again = delivery_import_run(upload.pk)
    assert again.state == "done" and again.result["created"] == 1
