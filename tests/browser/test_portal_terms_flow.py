"""A partner returns three leads in one submit, and reads its rate card when a price change is scheduled."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from leadbill.audit.models import AuditEvent
from leadbill.catalog.services import price_plan_set
from leadbill.deliveries.models import Return
from tests.browser.conftest import sign_in
from tests.mailing.test_smtp import Recorder, smtp  # noqa: F401

pytestmark = pytest.mark.browser


def test_partner_returns_three_leads_at_once(new_page, world, shoot):
    world.partner.return_max_share_bp = None  # the demo's 15 % limit is not what this test is about
    world.partner.save()
    page = new_page()
    sign_in(page, world.portal_email)
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Returns").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Returns")
    types = page.get_by_label("Lead type").locator("option").all_inner_texts()
    bought = set(world.partner.deliveries.values_list("lead_type__name", flat=True))
    assert set(types[1:]) == bought  # only what this partner bought, not the whole catalogue
    boxes = page.locator("input[name=delivery]")
    expect(boxes.first).to_be_visible()
    chosen = [boxes.nth(i).get_attribute("value") for i in range(3)]
    labels = [boxes.nth(i).get_attribute("aria-label") for i in range(3)]
    shoot(page, "portal-returns")
    page.get_by_label("Reason", exact=True).select_option("Duplicate lead")
    for i in range(3):
        boxes.nth(i).check()
    page.get_by_role("button", name="Return selected leads").click()
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text("3 leads returned")
    made = Return.objects.filter(delivery_id__in=[int(pk) for pk in chosen])
    assert made.count() == 3 and set(made.values_list("reason", flat=True)) == {"Duplicate lead"}
    rows = page.locator("section", has=page.get_by_role("heading", name="Your return requests")).locator("tbody tr")
    expect(rows).to_have_count(3)
    for label in labels:
        lead = label.split()[2]
        expect(rows.filter(has_text=lead)).to_have_count(1)
    assert AuditEvent.objects.filter(action="return.requested").count() == 3
    shoot(page, "portal-returns-done")


def test_partner_reads_its_rate_card_and_a_scheduled_change_is_emailed(new_page, world, shoot, smtp, settings):  # noqa: F811
    server = smtp(Recorder())
    when = (datetime.now(UTC) + timedelta(days=21)).replace(hour=5, minute=0, second=0, microsecond=0)
    plan, _ = price_plan_set(actor="user:finance@browser.leadbill.test", partner=world.partner, model="graduated",
                             config={"tiers": [{"up_to": 100, "price": "4.00"}, {"up_to": None, "price": "3.20"}]},
                             effective_from=when)  # fmt: skip
    ((_, rcpt_tos, raw),) = server.accepted  # sent after the plan's commit, by the inline task
    assert rcpt_tos == list(world.partner.billing_emails)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert "first 100 at $4.00, then $3.20" in message.get_body(("plain",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content().startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="price_plan.notice_queued", object_id=str(plan.pk)).count() == 1

    page = new_page()
    sign_in(page, world.portal_email)
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Rate card").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rate card")
    expect(page.get_by_role("status")).to_contain_text("Price change scheduled")
    scheduled = page.locator("section", has=page.get_by_role("heading", name="Scheduled price changes"))
    expect(scheduled).to_contain_text("first 100 at $4.00, then $3.20")
    expect(page.locator("section", has=page.get_by_role("heading", name="Returns"))).to_contain_text("within 30 days")
    expect(page.get_by_text(re.compile(r"due \d+ days after the invoice date"))).to_be_visible()
    shoot(page, "portal-ratecard")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    assert info.value.suggested_filename.startswith(f"rate-card-{world.partner.code}-")
    page.goto("/portal/")
    expect(page.locator("#to-date")).to_contain_text(re.compile(r"\d+ leads? to bill for "))
    shoot(page, "portal-invoices-to-date")


def test_partner_sees_a_void_invoice_marked_void_where_it_downloads_it(new_page, world, shoot):
    from leadbill.invoicing.models import Invoice
    from leadbill.invoicing.services import invoice_run_issue, invoice_void

    (inv,) = invoice_run_issue(actor="test:browser", entity=world.entity, period=world.last,
                               partners=[world.partner.code]).issued  # fmt: skip
    assert isinstance(inv, Invoice) and inv.status == "issued"
    invoice_void(actor="test:browser", invoice=inv, reason="wrong price agreed", leads="cancel")
    page = new_page()
    sign_in(page, world.portal_email)
    row = page.locator("main table tbody tr", has=page.get_by_role("link", name=inv.number, exact=True))
    expect(row).to_contain_text("VOID")
    expect(row).to_contain_text("reversed by")
    shoot(page, "portal-invoices-void")
    page.get_by_role("link", name=inv.number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("VOID")
    expect(page.locator(".void-notice")).to_contain_text("wrong price agreed")
    shoot(page, "portal-invoice-void")
    page.get_by_role("link", name="Download PDF (VOID)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"VOID: Invoice {inv.number}")
    shoot(page, "portal-void-download")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the original PDF (void)").click()
    assert info.value.suggested_filename == f"VOID-{inv.number}.pdf"
    page.goto("/portal/account/")
    shoot(page, "portal-account")


def test_a_supplier_only_partner_sees_supplier_pages_only(new_page, world, shoot):
    from leadbill.partners.models import Partner
    from leadbill.web.services import partner_user_invite
    from tests.browser.conftest import PASSWORD

    supplier = Partner.objects.filter(entity=world.entity, is_supplier=True, is_buyer=False).first()
    assert supplier is not None
    partner_user_invite(actor="test:browser", partner=supplier, email="sam@supplier.example", name="Sam Supplier",
                        password=PASSWORD)  # fmt: skip
    page = new_page()
    sign_in(page, "sam@supplier.example")
    expect(page).to_have_url(re.compile(r"/portal/payouts/$"))
    nav = page.get_by_role("navigation", name="Portal")
    expect(nav.get_by_role("link")).to_have_text(["Payouts", "Self-billing", "Account"])
    shoot(page, "portal-supplier-only")
    for path in ("/portal/returns/", "/portal/rate-card/", "/portal/report/"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
