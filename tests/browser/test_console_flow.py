"""A finance user previews last month's invoice run, issues it, and downloads an invoice's PDF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from leadbill.invoicing.models import Invoice, InvoiceRun
from tests.browser.conftest import SLUG, sign_in

pytestmark = pytest.mark.browser


def test_staff_previews_issues_a_month_and_downloads_a_pdf(new_page, world, shoot, tmp_path: Path):
    page = new_page()
    sign_in(page, world.staff_email)

    # the sign-in lands on the only entity's dashboard; the billable figure arrives by htmx
    expect(page).to_have_url(re.compile(rf"/console/{SLUG}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.locator(".stat").filter(has_text="Billable now")).to_contain_text("were invoiced today")
    expect(page.locator(".chart rect.bar")).to_have_count(12)
    shoot(page, "dashboard")

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Invoice runs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice runs")
    page.get_by_label("Month").select_option(world.last.key)
    page.get_by_role("button", name="Show delivery summary").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delivery summary: {world.last.label()}")
    issue = page.get_by_role("button", name=re.compile(r"^Issue \d+ documents?$"))
    expect(issue).to_be_enabled()
    to_issue = int(re.search(r"\d+", issue.inner_text()).group())
    assert to_issue >= 10  # the demo's buyers nearly all had leads last month
    rows = page.locator("main .table-wrap > table > tbody > tr")
    expect(rows.filter(has_text=world.partner.name)).to_have_count(1)
    shoot(page, "run-preview")

    # the confirmation guards the button: dismissed, nothing is issued
    page.once("dialog", lambda dialog: dialog.dismiss())
    issue.click()
    page.wait_for_load_state("networkidle")
    expect(page).to_have_url(re.compile(r"/runs/preview/\?period="))
    assert not InvoiceRun.objects.filter(entity=world.entity, period_key=world.last.key, mode="issue").exists()

    messages: list[str] = []

    def accept(dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    issue.click()
    expect(page).to_have_url(re.compile(rf"/console/{SLUG}/runs/\d+/$"))
    expect(page.locator("#run-progress h2")).to_have_text(f"Done: {to_issue} documents", timeout=30_000)
    assert messages == [f"Issue {to_issue} documents for {world.last.label()}? Issued documents cannot be changed."]
    issued = Invoice.objects.filter(entity=world.entity, period_key=world.last.key).exclude(status="draft")
    assert issued.count() == to_issue

    invoice = issued.filter(partner=world.partner).get()
    page.locator("#run-progress").get_by_role("link", name=invoice.number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(invoice.number)
    expect(page.locator(".stat").filter(has_text="Leads")).to_contain_text(str(invoice.leads_billed))
    page.wait_for_load_state("networkidle")  # the PDF in the page's frame has arrived
    shoot(page, "invoice")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    content = target.read_bytes()
    assert content.startswith(b"%PDF")
    assert invoice.number in PdfReader(target).pages[0].extract_text()
