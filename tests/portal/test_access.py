"""The portal shows a partner its own documents, report and returns; anything else is 404."""

from __future__ import annotations

import csv
import html
import io

from django.urls import URLPattern, reverse

from leadbill.deliveries.models import Return
from leadbill.portal import urls as portal_urls
from tests.webworld import ACME_USER, BLUE_USER, OTHER_ADMIN, STAFF, Site


def test_a_partner_user_sees_only_its_own_invoices(site: Site):
    acme = site.login(ACME_USER)
    page = acme.get("/portal/").content.decode()
    assert site.acme_invoice.number in page
    assert site.blue_receipt.number not in page
    assert site.other_invoice.number not in page  # the other entity's acme, same code


def test_another_partners_invoice_pdf_and_einvoice_are_404(site: Site):
    blue = site.login(BLUE_USER)
    for path in ("", "pdf", "einvoice?format=facturx", "einvoice?format=ubl"):
        for number in (site.acme_invoice.number, site.other_invoice.number):
            assert blue.get(f"/portal/invoices/{number}/{path}").status_code == 404, (number, path)
    own = blue.get(f"/portal/invoices/{site.blue_receipt.number}/pdf")
    assert own.status_code == 200 and own.content.startswith(b"%PDF")


def test_the_report_holds_only_the_partners_own_leads(site: Site):
    blue = site.login(BLUE_USER)
    response = blue.get("/portal/report/", {"download": "1", "from": "2026-01-01", "to": "2026-01-31", "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2
    assert {r["invoice"] for r in rows} == {site.blue_receipt.number}


def test_the_report_names_a_bad_field(site: Site):
    response = site.login(BLUE_USER).get("/portal/report/", {"download": "1", "from": "2026-02-01", "to": "nope"})
    assert response.status_code == 400
    assert "<strong>To</strong>: give a date as YYYY-MM-DD" in response.content.decode()


def test_a_partner_cannot_return_another_partners_lead(site: Site):
    blue = site.login(BLUE_USER)
    acme_delivery = site.acme_invoice.partner.deliveries.order_by("pk")[1]
    before = Return.objects.count()
    response = blue.post("/portal/returns/", {"delivery": [acme_delivery.pk], "reason": "Duplicate lead"})
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "some selected leads are not yours" in page and acme_delivery.external_id not in page
    upload = io.BytesIO(f"lead_id\n{acme_delivery.lead_id}\n".encode())
    upload.name = "leads.csv"
    response = blue.post("/portal/returns/", {"action": "upload", "file": upload, "reason": "Duplicate lead"})
    assert response.status_code == 400
    assert f"Row 2, lead {acme_delivery.lead_id}</strong>: no such lead was delivered to Blue Leads" in html.unescape(
        response.content.decode()
    )
    assert Return.objects.count() == before
    listing = blue.get("/portal/returns/").content.decode()
    assert "duplicate" in listing and "wrong number" not in listing  # only its own requests are listed


def test_returns_are_refused_where_the_policy_forbids_them(site: Site):
    site.acme.returns_allowed = False
    site.acme.save()
    acme = site.login(ACME_USER)
    assert "Returns" not in acme.get("/portal/").content.decode().split("<main")[0]
    delivery = site.acme_return.delivery
    assert acme.post("/portal/returns/", {"delivery": [delivery.pk], "reason": "Duplicate lead"}).status_code == 404


def test_a_partner_user_requests_a_return_of_its_own_lead(site: Site):
    acme = site.login(ACME_USER)
    delivery = site.acme_invoice.partner.deliveries.order_by("pk")[1]
    response = acme.post("/portal/returns/", {"delivery": [delivery.pk], "reason": "Duplicate lead"})
    assert response.status_code == 302
    assert Return.objects.filter(delivery=delivery, status="requested", reason="Duplicate lead").exists()


def test_staff_and_strangers_have_no_portal(site: Site, client):
    for email in (STAFF["admin"], OTHER_ADMIN):
        assert site.login(email).get("/portal/").status_code == 404
    for pattern in portal_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        given = {"ref": site.acme_invoice.number, "number": "SB-1", "pk": 1, "upload": 1}
        kwargs = {name: given[name] for name in pattern.pattern.converters}
        response = client.get(reverse(f"portal:{pattern.name}", kwargs=kwargs))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_account_changes_only_contacts_and_billing_details(site: Site):
    acme = site.login(ACME_USER)
    response = acme.post("/portal/account/", {
        "contact_name": "Ann New", "contact_email": "ann@acme.test", "billing_emails": "ap@acme.test, cfo@acme.test",
        "line1": "1 New Street", "city": "Berlin", "postal_code": "10115", "country": "DE",
        # a partner may not change its own terms: these are ignored
        "billing_mode": "prepay", "payment_terms_days": "365", "cap_daily": "1",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    site.acme.refresh_from_db()
    assert site.acme.contact_name == "Ann New" and site.acme.billing_emails == ["ap@acme.test", "cfo@acme.test"]
    assert site.acme.billing_mode == "credit" and site.acme.payment_terms_days is None and site.acme.cap_daily is None


def test_account_errors_name_the_field_and_save_nothing(site: Site):
    acme = site.login(ACME_USER)
    response = acme.post("/portal/account/", {"contact_name": "Ann", "contact_email": "not-an-email", "country": "DE"})
    assert response.status_code == 200
    assert 'id="id_contact_email_error"' in response.content.decode()
    site.acme.refresh_from_db()
    assert site.acme.contact_name == "Pat Buyer"
