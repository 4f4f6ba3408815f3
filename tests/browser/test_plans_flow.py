"""A finance user edits a price plan from its current version, and imports a delivery file with a bad row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from leadbill.catalog.models import LeadType, PricePlan
from leadbill.deliveries.models import Delivery
from leadbill.invoicing.models import Invoice
from tests.browser.conftest import SLUG, sign_in, snap

pytestmark = pytest.mark.browser


def test_staff_edits_a_graduated_plan_starting_from_the_current_version(new_page, world, shoot):
    current = (PricePlan.objects.filter(entity=world.entity, model="graduated", profile=None, lead_type=None,
                                        side="sell", effective_to=None).select_related("partner").first())  # fmt: skip
    partner, tiers = current.partner, current.config["tiers"]
    page = new_page()
    sign_in(page, world.staff_email)
    page.goto(f"/console/{SLUG}/partners/{partner.code}/")
    shoot(page, "partner")
    page.get_by_role("link", name="New price plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New price plan version")

    # prefilled from the version in effect, read in words; no error before anything is typed
    expect(page.get_by_label("Pricing model")).to_have_value("graduated")
    for i, tier in enumerate(tiers):
        expect(page.get_by_label(f"Tier {i + 1} up to")).to_have_value(
            "" if tier["up_to"] is None else f"{tier['up_to']:,}"
        )
    expect(page.locator("#plan-words")).to_contain_text("first ")
    expect(page.locator(".notice")).to_have_count(0)
    shoot(page, "plan-editor")

    # one more tier: the button posts the form back (no script needed) and keeps what was typed
    page.get_by_label("Tier 1 price").fill("9.50")
    page.get_by_role("button", name="Add tier").click()
    new_row = len(tiers) + 1
    expect(page.get_by_label(f"Tier {new_row} up to")).to_be_visible()
    expect(page.get_by_label("Tier 1 price")).to_have_value("9.50")
    last_open = len(tiers)  # the open tier gets a bound, the new row becomes the open rest
    page.get_by_label(f"Tier {last_open} up to").fill("5,000")
    page.get_by_label(f"Tier {new_row} price").fill("0.7.5")
    page.get_by_role("button", name="Save price plan").click()  # refused: the error names the row and field
    expect(page.get_by_role("alert")).to_contain_text(f"Tier {new_row} price")
    expect(page.get_by_label(f"Tier {new_row} price")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Tier 1 price")).to_have_value("9.50")  # nothing typed is lost
    snap(page, "plan-editor-refused")
    page.get_by_label(f"Tier {new_row} price").fill("0.75")
    expect(page.locator("#plan-words")).to_contain_text("then $0.75")  # the quote follows the typing (htmx)
    page.get_by_role("button", name="Save price plan").click()

    expect(page).to_have_url(re.compile(rf"/partners/{partner.code}/$"))
    expect(page.locator(".messages, [role=status], .notice").first).to_contain_text("Price plan")
    newest = PricePlan.objects.filter(partner=partner, profile=None, lead_type=None, side="sell").latest(
        "effective_from"
    )
    assert newest.pk != current.pk and newest.model == "graduated"
    assert newest.config["tiers"][0]["price"] == "9.50" and newest.config["tiers"][-1] == {
        "up_to": None,
        "price": "0.75",
    }
    assert newest.config["tiers"][-2]["up_to"] == 5000 and len(newest.config["tiers"]) == len(tiers) + 1
    expect(page.get_by_text("then $0.75").first).to_be_visible()


def test_staff_imports_a_delivery_file_with_a_bad_row(new_page, world, shoot, tmp_path: Path):
    lead_type = LeadType.objects.filter(entity=world.entity).order_by("code").first()
    code, other = world.partner.code, world.other.code
    path = tmp_path / "october-leads.csv"
    path.write_text(
        "external_id,partner,profile,lead_type,lead_id,delivered_at,price,currency\n"
        f"ui-1,{code},,{lead_type.code},UI-1,2026-10-05T09:00:00-04:00,,USD\n"
        f"ui-2,{other},,{lead_type.code},UI-2,2026-10-05T09:01:00-04:00,twelve,USD\n"
        f"ui-3,{other},,{lead_type.code},UI-3,2026-10-05T09:02:00-04:00,,USD\n"
    )
    page = new_page()
    sign_in(page, world.staff_email)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Deliveries").click()
    expect(page.locator("#deliveries-summary")).to_contain_text("billed for")
    shoot(page, "deliveries")
    page.get_by_role("link", name="Import CSV").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import deliveries")
    shoot(page, "deliveries-import")
    page.get_by_label(re.compile("Delivery file")).set_input_files(path)
    page.get_by_role("button", name="Import").click()

    expect(page).to_have_url(re.compile(rf"/console/{SLUG}/deliveries/import/\d+/$"))
    expect(page.locator("#import-progress h2")).to_have_text("Done: 2 deliveries imported", timeout=30_000)
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("3")  # the file's row 3 (the header is row 1)
    expect(errors.first).to_contain_text("price")
    shoot(page, "deliveries-import-result")
    assert set(Delivery.objects.filter(entity=world.entity, external_id__startswith="ui-")
               .values_list("external_id", flat=True)) == {"ui-1", "ui-3"}  # fmt: skip


def test_staff_downloads_an_invoices_lead_report_from_the_invoice(new_page, world, shoot, tmp_path: Path):
    invoice = Invoice.objects.filter(partner=world.partner, kind="invoice").exclude(number=None).first()
    page = new_page()
    sign_in(page, world.staff_email)
    page.goto(f"/console/{SLUG}/invoices/{invoice.number}/")
    shoot(page, "invoice")
    with page.expect_download() as download:
        page.get_by_role("link", name="Lead report CSV").click()
    name = download.value.suggested_filename
    assert name == f"report-{world.partner.code}-{invoice.number}-all-lead-types.csv"
    saved = tmp_path / name
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert len(lines) - 1 == invoice.leads_billed
    page.goto(f"/console/{SLUG}/partners/{world.partner.code}/report/?invoice={invoice.number}")
    expect(page.locator("#report-invoice")).to_contain_text(invoice.number)
    shoot(page, "report-by-invoice")
    page.get_by_role("link", name="Choose dates instead").click()
    expect(page.get_by_label(re.compile("Or one invoice"))).to_be_visible()
    shoot(page, "report-by-dates")

    # the partner's own people: the same report from the portal's invoice page
    portal = new_page()
    sign_in(portal, world.portal_email)
    portal.goto(f"/portal/invoices/{invoice.number}/")
    shoot(portal, "portal-invoice")
    with portal.expect_download() as download:
        portal.get_by_role("link", name="Lead report CSV").click()
    assert download.value.suggested_filename == name
