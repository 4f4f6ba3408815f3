"""A partner's user sees its own invoices only, and downloads its lead report as CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from leadbill.deliveries.models import Delivery
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import invoice_run_issue
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_partner_sees_only_its_invoices_and_downloads_its_report(new_page, world, shoot, tmp_path: Path):
    invoice_run_issue(actor="test:browser", entity=world.entity, period=world.last)  # an open invoice beside a paid one
    mine = Invoice.objects.filter(partner=world.partner).exclude(status="draft").order_by("-pk")
    own = list(mine.values_list("number", flat=True))  # newest first, as the list shows them
    others = Invoice.objects.filter(entity=world.entity).exclude(partner=world.partner).exclude(status="draft")
    other_number = others.filter(partner=world.other).values_list("number", flat=True).first()
    assert len(own) == 2
    assert other_number

    page = new_page()
    sign_in(page, world.portal_email)
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your invoices")
    listed = page.locator("main table tbody tr td:first-child a")
    expect(listed).to_have_text(own)
    content = page.content()
    assert world.other.name not in content
    for number in others.values_list("number", flat=True):
        assert number not in content
    shoot(page, "portal-invoices")

    # another partner's invoice, by its real number: the portal answers "not found"
    response = page.goto(f"/portal/invoices/{other_number}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    response = page.goto(f"/portal/invoices/{other_number}/pdf")
    assert response is not None
    assert response.status == 404

    page.goto("/portal/")
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Lead report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lead report")
    first, last = world.history.first_day, world.last.last_day
    page.get_by_label("From").fill(first.isoformat())
    page.get_by_label("To", exact=True).fill(last.isoformat())
    page.get_by_label("CSV").check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download report").click()
    download = info.value
    assert download.suggested_filename == f"report-{world.partner.code}-{first}-{last}-all-lead-types.csv"
    target = tmp_path / download.suggested_filename
    download.save_as(target)

    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "delivered_at,lead_id,lead_type,profile,state,zip,"  # the partner's report fields: state, zip
        "billed_price,currency,invoice,return_status,return_reason,credited,credit_document,"
        "cap"  # what the cap policy did to the lead: blank here, the partner has no cap
    )
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    delivered = Delivery.objects.filter(partner=world.partner, delivered_at__gte=world.history.start,
                                        delivered_at__lt=world.last.end)  # fmt: skip
    own_leads = set(delivered.values_list("lead_id", flat=True))
    all_leads = set(Delivery.objects.filter(entity=world.entity).values_list("lead_id", flat=True))
    assert len(rows) == delivered.count() > 0
    assert all(row["lead_id"] in own_leads for row in rows)
    assert len(all_leads) > len(own_leads)  # the other partners' leads existed, and stayed out
    billed = [row for row in rows if row["invoice"]]
    assert billed
    assert {row["invoice"] for row in billed} <= set(own)
