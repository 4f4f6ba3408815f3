"""Portal pages by role and state: void documents marked VOID, supplier-only and buyer-only partners, month to date."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

import pytest

from leadbill.catalog.ratecard import current_period
from leadbill.documents.models import ArchivedDocument
from leadbill.invoicing.selectors import preview_totals
from leadbill.invoicing.services import invoice_run_preview, invoice_void
from leadbill.web.services import partner_user_invite
from tests.factories import make_deliveries, make_lead_type, make_partner
from tests.webworld import ACME_USER, BLUE_USER, PASSWORD, Site


def text_of(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def voided(site: Site):
    acme = site.login(ACME_USER)
    original = acme.get(f"/portal/invoices/{site.acme_invoice.number}/pdf").content  # archived before the void
    invoice_void(actor="test", invoice=site.acme_invoice, reason="wrong price agreed", issue_date=date(2026, 2, 3))
    site.acme_invoice.refresh_from_db()
    note = site.acme_invoice.corrections.get(kind="credit_note")
    return acme, original, note


def test_a_void_invoice_is_marked_void_in_the_list_and_on_its_page(site: Site, voided):
    acme, _, note = voided
    listing = text_of(acme.get("/portal/"))
    row = listing.split(f">{site.acme_invoice.number}</a>")[1].split("</tr>")[0]
    assert '<span class="badge void">VOID</span>' in row and "reversed by <a" in row and note.number in row
    assert "<s>" in row  # its total is struck through
    page = text_of(acme.get(f"/portal/invoices/{site.acme_invoice.number}/"))
    assert '<span class="badge void">VOID</span></h1>' in page
    assert "VOID: this invoice was cancelled on" in page and "Reason: wrong price agreed." in page
    assert f'reversed by credit note <a href="/portal/invoices/{note.number}/">{note.number}</a>' in page
    assert "How to pay" not in page


def test_a_void_invoices_download_says_void_then_serves_the_unchanged_original(site: Site, voided):
    acme, original, _ = voided
    number = site.acme_invoice.number
    notice = acme.get(f"/portal/invoices/{number}/pdf")
    assert notice.status_code == 200 and notice["Content-Type"].startswith("text/html")
    assert f"VOID: Invoice {number}" in text_of(notice) and "?original=1" in text_of(notice)
    response = acme.get(f"/portal/invoices/{number}/pdf", {"original": "1"})
    assert response.status_code == 200 and response.content == original
    assert response["Content-Disposition"] == f'attachment; filename="VOID-{number}.pdf"'
    archived = ArchivedDocument.objects.get(invoice=site.acme_invoice, format="pdf")
    assert bytes(archived.content) == original  # the archive is never changed
    inline = acme.get(f"/portal/invoices/{number}/pdf", {"inline": "1"})
    assert inline.content == original and inline["Content-Disposition"].startswith("inline;")


def test_an_issued_invoice_downloads_directly(site: Site):
    response = site.login(ACME_USER).get(f"/portal/invoices/{site.acme_invoice.number}/pdf")
    assert response.content.startswith(b"%PDF") and "VOID" not in response["Content-Disposition"]


BUYER_PAGES = ("/portal/report/", "/portal/returns/", "/portal/rate-card/", "/portal/rate-card/pdf", "/portal/to-date/",
               "/portal/statement/")  # fmt: skip


def test_a_supplier_only_partner_sees_supplier_pages_only(site: Site):
    supplier = make_partner(site.entity, code="garden", name="Lead Garden", is_buyer=False, is_supplier=True)
    partner_user_invite(actor="test", partner=supplier, email="sam@garden.test", name="Sam", password=PASSWORD)
    client = site.login("sam@garden.test")
    home = client.get("/portal/")
    assert home.status_code == 302 and home["Location"] == "/portal/payouts/"
    nav = text_of(client.get("/portal/payouts/")).split("<main")[0]
    assert "Payouts" in nav and "Account" in nav
    for word in ("Invoices", "Lead report", "Returns", "Rate card"):
        assert f">{word}</a>" not in nav, word
    for path in (*BUYER_PAGES, f"/portal/invoices/{site.acme_invoice.number}/"):
        assert client.get(path).status_code == 404, path
    assert client.post("/portal/returns/", {"reason": "Duplicate lead"}).status_code == 404
    assert "Payment terms" not in text_of(client.get("/portal/account/"))


def test_a_buyer_only_partner_sees_no_payout_pages(site: Site):
    client = site.login(BLUE_USER)
    nav = text_of(client.get("/portal/")).split("<main")[0]
    assert ">Payouts</a>" not in nav and ">Self-billing</a>" not in nav and ">Rate card</a>" in nav
    for path in ("/portal/payouts/", "/portal/payouts/1/"):
        assert client.get(path).status_code == 404, path


def test_month_to_date_is_the_run_preview_of_the_partner(site: Site):
    now = datetime.now(UTC)
    make_deliveries(site.acme, 7, now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(minutes=1),
                    lead_type=make_lead_type(site.entity))  # fmt: skip
    period = current_period(site.acme, now)
    expected = preview_totals(invoice_run_preview(entity=site.entity, period=period, partners=["acme"]))["EUR"]
    assert expected["leads"] >= 7
    acme = site.login(ACME_USER)
    assert 'hx-get="/portal/to-date/"' in acme.get("/portal/").content.decode()
    fragment = text_of(acme.get("/portal/to-date/"))
    euros = f"€{expected['total_minor'] // 100:,}.{expected['total_minor'] % 100:02d}"
    assert euros in fragment and f"{expected['leads']} leads to bill for {period.label()}" in fragment
    assert "as the invoice would be if made today" in fragment
    blue = site.login(BLUE_USER)  # a prepay partner sees it too, as its receipt
    assert 'hx-get="/portal/to-date/"' in blue.get("/portal/").content.decode()
    assert "as the receipt would be if made today" in text_of(blue.get("/portal/to-date/"))


def test_the_invoice_list_reads_a_fixed_number_of_queries(site: Site, django_assert_max_num_queries):
    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue

    lead_type = make_lead_type(site.entity)
    for month in range(2, 12):
        make_deliveries(site.acme, 2, datetime(2026, month, 3, tzinfo=UTC), lead_type=lead_type)
        invoice_run_issue(actor="test", entity=site.entity, period=periods.month(2026, month, "UTC"),
                          issue_date=date(2026, month + 1, 1), partners=["acme"])  # fmt: skip
    from leadbill.invoicing.models import Invoice

    for inv in Invoice.objects.filter(partner=site.acme, kind="invoice").order_by("pk")[:6]:
        invoice_void(actor="test", invoice=inv, reason="re-priced", issue_date=date(2026, 12, 1), leads="cancel")
    acme = site.login(ACME_USER)
    with django_assert_max_num_queries(9):
        page = text_of(acme.get("/portal/"))
    assert page.count('<span class="badge void">VOID</span>') == 6
