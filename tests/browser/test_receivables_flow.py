"""Finance applies credit on account in the console; the partner sees the same open amount and its statement.

The data is `tests.webworld`'s small world (entity "leadco" in EUR, partner "acme" with one issued
invoice); the live server makes its database transactional, so what is set up here is committed
and the server's thread sees it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import transaction
from playwright.sync_api import expect

from leadbill.documents.formatting import Formatter
from leadbill.invoicing.services import payment_record, today_in
from leadbill.receivables import services as ledger
from leadbill.receivables.selectors import partner_accounts
from tests import webworld
from tests.browser.conftest import sign_in
from tests.webworld import ACME_USER, STAFF

pytestmark = pytest.mark.browser

site = webworld.site  # the fixture, under its own name
ACTOR = "test:browser"
PARTNER_PAGE = "/console/leadco/partners/acme/"


def money(site, minor: int) -> str:
    """What the pages print for `minor` in the entity's currency and locale."""
    return Formatter(site.entity.locale, site.entity.currency).money(minor)


def receivables_card(page):
    return page.locator("#receivables")


def stat(scope, label: str):
    """The value of the stat whose label is exactly `label`."""
    return scope.locator(".stat").filter(has=scope.page.get_by_text(label, exact=True)).locator(".value")


def test_finance_applies_credit_on_account_and_the_open_amount_drops(new_page, site, shoot):
    inv = site.acme_invoice
    credit, applied = 500, 200  # €5.00 on account, €2.00 of it applied by hand
    site.entity.credit_on_account = "manual"
    site.entity.save()
    with transaction.atomic():
        ledger.credit_entries(actor=ACTOR, partner=site.acme, currency="EUR", kind="credit_note", amount_minor=credit,
                              target=None, occurred_on=today_in(site.entity), reason="goodwill")  # fmt: skip
    before = partner_accounts(site.acme)["EUR"]
    assert before.credit_minor == credit
    assert before.open_minor == inv.total_minor > applied

    page = new_page()
    sign_in(page, STAFF["finance"])
    page.goto(PARTNER_PAGE)
    card = receivables_card(page)
    expect(stat(card, "Open (EUR)")).to_have_text(money(site, before.open_minor))
    expect(stat(card, "Credit on account")).to_have_text(money(site, credit))
    expect(stat(card, "Balance")).to_have_text(money(site, before.open_minor - credit))
    shoot(page, "partner-receivables")

    card.get_by_label("Apply to invoice").select_option(inv.number)
    card.get_by_label("Amount", exact=True).fill(f"{applied / 100:.2f}")
    card.get_by_role("button", name="Apply credit").click()

    expect(page).to_have_url(re.compile(rf"{re.escape(PARTNER_PAGE)}$"))
    expect(page.locator("ul.messages li")).to_have_text(f"Credit applied to {inv.number}.")
    card = receivables_card(page)
    expect(stat(card, "Open (EUR)")).to_have_text(money(site, before.open_minor - applied))
    expect(stat(card, "Credit on account")).to_have_text(money(site, credit - applied))
    expect(stat(card, "Balance")).to_have_text(money(site, before.open_minor - credit))  # credit moved, not new
    after = partner_accounts(site.acme)["EUR"]
    assert (after.open_minor, after.credit_minor) == (before.open_minor - applied, credit - applied)

    # the rest of the credit, "all of it" on the oldest open invoice: nothing is left on account
    card.get_by_role("button", name="Apply credit").click()
    expect(page.locator("ul.messages li")).to_have_text(f"Credit applied to {inv.number}.")
    card = receivables_card(page)
    open_now = before.open_minor - credit
    expect(stat(card, "Open (EUR)")).to_have_text(money(site, open_now))
    expect(stat(card, "Credit on account")).to_have_text(money(site, 0))
    expect(card.get_by_role("button", name="Apply credit")).to_have_count(0)  # no credit, no form

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Receivables").click()
    expect(page).to_have_url(re.compile(r"/console/leadco/receivables/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Receivables")
    row = page.locator("main table tbody tr").filter(has=page.get_by_role("link", name=site.acme.name, exact=True))
    expect(row).to_have_count(1)
    expect(row.locator("td strong")).to_have_text(money(site, open_now))
    expect(stat(page.get_by_role("region", name="Totals"), "Open (EUR)")).to_have_text(money(site, open_now))
    expect(page.get_by_text("Credit on account (EUR)", exact=True)).to_have_count(0)
    shoot(page, "receivables")


def test_partner_sees_the_console_open_amount_and_downloads_its_statement(new_page, site, tmp_path: Path):
    inv = site.acme_invoice
    paid = 150  # a part payment today, so this statement's range has a line for the invoice
    payment_record(actor=ACTOR, invoice=inv, amount_minor=paid, paid_on=today_in(site.entity), reference="wire 77")
    expected = partner_accounts(site.acme)["EUR"].open_minor
    assert expected == inv.total_minor - paid

    finance = new_page()
    sign_in(finance, STAFF["finance"])
    finance.goto(PARTNER_PAGE)
    console_open = stat(receivables_card(finance), "Open (EUR)")
    expect(console_open).to_have_text(money(site, expected))

    page = new_page()
    sign_in(page, ACME_USER)
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your invoices")
    portal_open = stat(page.get_by_role("region", name="Balance"), "Open")
    expect(portal_open).to_have_text(money(site, expected))
    assert portal_open.inner_text().strip() == console_open.inner_text().strip()

    with page.expect_download() as info:
        page.get_by_role("link", name="Statement of account (PDF)").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV", exact=True).click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    table = tmp_path / download.suggested_filename
    download.save_as(table)
    text = table.read_text(encoding="utf-8")
    assert inv.number in text
    assert "wire 77" in text
    assert site.other_invoice.number not in text
