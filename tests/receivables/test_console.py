"""Finance works receivables from the console: aging, statements, credit, reversals, write-offs."""

from __future__ import annotations

import html
from datetime import date

from leadbill.domain.money import minor_to_decimal
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import payment_record
from leadbill.receivables.models import Entry
from leadbill.receivables.selectors import credit_on_account, partner_accounts
from tests.webworld import ACME_USER, STAFF, Site

ACTOR = "test:finance"


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_aging_page_and_statements_show_what_is_open(site: Site):
    finance = site.login(STAFF["finance"])
    inv = site.acme_invoice
    page = text(finance.get("/console/leadco/receivables/"))
    shown = f"€{inv.total_minor / 100:,.2f}"
    assert "Acme Insurance" in page and shown in page and "aging-bar" in page
    csv_response = finance.get("/console/leadco/partners/acme/statement/?from=2026-01-01&to=2026-12-31&format=csv")
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    body = csv_response.content.decode()
    assert body.startswith("Date,Entry,Document,Reference,Charges,Credits,Balance")
    assert f"Invoice,{inv.number}," in body and "Closing balance" in body
    pdf = finance.get("/console/leadco/partners/acme/statement/?from=2026-01-01&to=2026-12-31")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert finance.get("/console/leadco/partners/acme/statement/?from=2026-13-01").status_code == 400


def test_finance_applies_credit_refunds_it_reverses_a_payment_and_writes_off(site: Site):
    finance = site.login(STAFF["finance"])
    inv = site.acme_invoice
    site.entity.credit_on_account = "manual"
    site.entity.save()
    payment = payment_record(actor=ACTOR, invoice=inv, amount_minor=inv.total_minor + 500, paid_on=date(2026, 2, 3))
    assert credit_on_account(site.acme, "EUR") == 500
    page = text(finance.post("/console/leadco/partners/acme/credit/refund/", {"amount": "2.00", "reference": "back"},
                             follow=True))  # fmt: skip
    assert "Refund recorded." in page and credit_on_account(site.acme, "EUR") == 300
    page = text(finance.post(f"/console/leadco/invoices/{inv.number}/payments/{payment.pk}/reverse/",
                             {"reason": "bounced"}, follow=True))  # fmt: skip
    assert "Payment reversed" in page and "reversed" in page
    assert Invoice.objects.get(pk=inv.pk).status == "issued"
    assert credit_on_account(site.acme, "EUR") == 0  # the refunded 2.00 is owed back on account
    page = text(finance.post("/console/leadco/partners/acme/credit/apply/", {}, follow=True))
    assert "Credit not applied: acme has no credit on account" in page
    page = text(finance.post(f"/console/leadco/invoices/{inv.number}/write-off/", {"reason": "insolvent"},
                             follow=True))  # fmt: skip
    lost = minor_to_decimal(-Entry.objects.get(invoice=inv, kind="write_off").amount_minor, "EUR")
    assert f"{inv.number} is written off: {lost:,} EUR lost." in page
    assert Invoice.objects.get(pk=inv.pk).status == "written_off"
    assert partner_accounts(site.acme)["EUR"].open_minor == 0


def test_readonly_staff_cannot_write_off(site: Site):
    readonly = site.login(STAFF["readonly"])
    inv = site.acme_invoice
    assert readonly.post(f"/console/leadco/invoices/{inv.number}/write-off/", {"reason": "x"}).status_code == 403
    assert Invoice.objects.get(pk=inv.pk).status == "issued"


def test_the_portal_shows_the_same_open_amount_and_serves_the_partners_statement(site: Site):
    portal = site.login(ACME_USER)
    response = portal.get("/portal/statement/?from=2026-01-01&to=2026-12-31&format=csv")
    assert response.status_code == 200 and site.acme_invoice.number in response.content.decode()
    assert portal.get("/portal/statement/?from=2026-01-01&to=2026-12-31").content.startswith(b"%PDF-")


def test_finance_switches_reminders_and_pauses_a_partner(site: Site):
    from leadbill.receivables.reminder_models import ReminderPause, ReminderPolicy

    finance = site.login(STAFF["finance"])
    page = text(finance.post("/console/leadco/receivables/reminders/", {"enabled": "on"}, follow=True))
    assert "Reminders are on." in page and ReminderPolicy.objects.get(entity=site.entity).enabled
    page = text(finance.post("/console/leadco/partners/acme/reminders/", {"reason": "payment plan"}, follow=True))
    assert "Reminders are paused." in page and "Reminders are paused: payment plan." in page
    finance.post("/console/leadco/partners/acme/reminders/", {"action": "resume"})
    assert not ReminderPause.objects.exists()


def test_the_portal_invoice_says_how_to_pay_and_what_was_paid(site: Site):
    from leadbill.domain.payment_reference import rf_printed, rf_reference

    inv = site.acme_invoice
    payment_record(actor=ACTOR, invoice=inv, amount_minor=100, paid_on=date(2026, 2, 3), reference="wire 77")
    page = text(site.login(ACME_USER).get(f"/portal/invoices/{inv.number}/"))
    assert "How to pay" in page and rf_printed(rf_reference(inv.number)) in page
    assert f"€{(inv.total_minor - 100) / 100:,.2f}" in page and "wire 77" in page and "2026-02-03" in page


def test_a_statement_by_default_reaches_back_to_the_oldest_open_invoice(site: Site):
    response = site.login(ACME_USER).get("/portal/statement/?format=csv")
    assert response.status_code == 200 and site.acme_invoice.number in response.content.decode()
