"""A supplier opts in to self-billing in the portal and sees its Ready payout's self-invoice, and gets the email.

Headless Chromium against the live server; the email goes to a real SMTP server started by the
test (aiosmtpd), as the supplier would receive it, with the PDF and the UBL attached.
"""

from __future__ import annotations

import email
import email.policy
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from leadbill.partners.models import Partner
from leadbill.payouts import services as payouts
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from leadbill.web.services import partner_user_invite, staff_add
from tests.browser.conftest import ACTOR, PASSWORD, SLUG, sign_in, snap
from tests.mailing.test_smtp import Recorder, smtp  # noqa: F401

pytestmark = pytest.mark.browser

SUPPLIER = "quotewise-affiliates"  # a supplier of the demo set-up: San Francisco, CA; no tax id on file
OWNER = "jordan@quotewise.example"
ADMIN = "admin@browser.leadbill.test"


def test_a_supplier_opts_in_and_sees_its_ready_payouts_self_invoice_and_gets_the_email(
    new_page,
    world,
    shoot,
    smtp,  # noqa: F811
):
    server = smtp(Recorder())
    entity = world.entity
    sbs.self_billing_switch(actor=ACTOR, entity=entity, on=True)
    supplier = Partner.objects.get(entity=entity, code=SUPPLIER)
    payout = payouts.payout_create(actor=ACTOR, partner=supplier, period=world.last,
                                   lines=[payouts.ManualLine("Leads supplied \u2014 Auto insurance", 4549,
                                                             Decimal("0.90"))])  # fmt: skip
    payouts.payout_transition(actor=ACTOR, payout=payout, to="pending")
    payouts.payout_transition(actor=ACTOR, payout=payout, to="ready")
    payout.refresh_from_db()
    assert payout.self_billing == "Quotewise Affiliates has not opted in to self-billing."
    partner_user_invite(actor=ACTOR, partner=supplier, email=OWNER, name="Jordan Lee", main_contact=True,
                        password=PASSWORD)  # fmt: skip

    # the supplier signs in and is led to the onboarding step, which starts from what is on file
    page = new_page()
    sign_in(page, OWNER)
    expect(page).to_have_url(f"{page.url.split('/portal/')[0]}/portal/onboarding/self-billing/")
    status = page.locator("section.card").first
    expect(status).to_contain_text("not saved yet")
    expect(status).to_contain_text("Still needed: tax id.")  # not legal name or address: those are filled in
    expect(page.get_by_label("Legal name")).to_have_value("Quotewise Affiliates")
    expect(page.get_by_label("Street address")).to_have_value("9 Affiliate Way")
    expect(page.get_by_label("State or province")).to_have_value("CA")
    expect(page.get_by_label("Number prefix")).to_have_value("SB-QUOTEWISE-AFFILIATES-")
    expect(page.locator("label[for=id_tax_id] .req")).to_have_text("required")
    expect(page.locator("label[for=id_address_line2]")).to_contain_text("(optional)")
    expect(page.get_by_text("1 ready payout waits for an invoice")).to_be_visible()
    shoot(page, "portal-onboarding")

    # a wrong routing number is named on its field, and nothing typed is lost
    page.get_by_label("Tax id").fill("12-3456789")
    page.get_by_label("Tax rate %").fill("7.5")
    page.get_by_label("Peppol id").fill("0060:987654321")  # so the UBL has both parties' electronic address
    page.get_by_label("ABA routing number").fill("021000022")
    page.get_by_label("Account number").fill("000123456789")
    page.get_by_role("button", name="Save details only").click()
    expect(page.locator("#id_routing_number_error")).to_contain_text("not a valid ABA routing number")
    expect(page.get_by_label("Tax id")).to_have_value("12-3456789")

    # right: saved and opted in; the ready payout gets its self-invoice there and then
    page.get_by_label("ABA routing number").fill("021000021")
    page.get_by_label("I accept the self-billing agreement").check()
    page.get_by_role("button", name="Save and opt in").click()
    expect(page).to_have_url(f"{page.url.split('/portal/')[0]}/portal/payouts/")
    expect(page.locator(".messages")).to_contain_text("You have opted in")
    doc = SelfBilledDocument.objects.get(payout=payout)
    assert doc.number == "SB-QUOTEWISE-AFFILIATES-000001"
    # a later payout under review already shows the tax its self-invoice will carry
    pending = payouts.payout_create(actor=ACTOR, partner=supplier, period=world.history,
                                    lines=[payouts.ManualLine("Bonus", 1, Decimal("100.00"))])  # fmt: skip
    payouts.payout_transition(actor=ACTOR, payout=pending, to="pending")
    page.reload()
    expect(page.get_by_role("row").filter(has_text=world.history.key)).to_contain_text("$7.50*")
    expect(page.get_by_role("row").filter(has_text=world.history.key)).to_contain_text("$107.50")
    row = page.get_by_role("row").filter(has_text=world.last.key)
    expect(row).to_contain_text("self-billed")
    expect(row).not_to_contain_text("has not opted in")
    expect(row).to_contain_text("$4,094.10")  # net
    expect(row).to_contain_text("$4,401.16")  # with 7.5 % tax: as on the self-invoice
    shoot(page, "portal-payouts")
    row.get_by_role("link", name=world.last.key).click()
    expect(page.locator("li.acceptance strong", has_text=doc.number)).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("No self-invoice")
    shoot(page, "portal-payout")

    # the email: to the supplier's billing address, with its PDF and UBL attached
    assert len(server.accepted) == 1, server.accepted
    _sender, recipients, content = server.accepted[0]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert recipients == ["payouts@quotewise-affiliates.example"] and doc.number in message["Subject"]
    assert sorted(part.get_filename() for part in message.iter_attachments()) == [
        f"{doc.number}-ubl.xml", f"{doc.number}.pdf"
    ]  # fmt: skip

    # the console: the switch says how many suppliers it affects, and asks before turning off
    staff_add(actor=ACTOR, entity=entity, email=ADMIN, name="Ada Admin", role="admin", password=PASSWORD)
    console = new_page()
    sign_in(console, ADMIN)
    console.goto(f"/console/{SLUG}/self-billing/")
    expect(console.get_by_text("1 supplier opted in; turning it off asks you to confirm.")).to_be_visible()
    shoot(console, "console-self-billing")
    console.get_by_label("Allow partners to opt in").uncheck()
    console.get_by_role("button", name="Save", exact=True).click()
    expect(console.get_by_role("alertdialog")).to_contain_text("1 supplier opted in is affected")
    snap(console, "console-self-billing-confirm")  # the answer to a POST: taken as it stands, not reloaded
    console.get_by_role("button", name="Turn off for 1 supplier").click()
    expect(console.locator(".messages")).to_contain_text("Self-billing is off")
    console.goto(f"/console/{SLUG}/payouts/")
    shoot(console, "console-payouts")
    console.goto(f"/console/{SLUG}/payouts/{payout.pk}/")
    expect(console.get_by_role("cell", name=f"{doc.number} issued")).to_be_visible()
    expect(console.get_by_role("button", name="Generate self-invoice")).to_have_count(0)
    shoot(console, "console-payout")

    # the partner form takes the state; the partner page prints it US style
    console.goto(f"/console/{SLUG}/partners/{SUPPLIER}/edit/")
    expect(console.get_by_label("State or province")).to_have_value("CA")
    shoot(console, "console-partner-form")
    console.goto(f"/console/{SLUG}/partners/{SUPPLIER}/")
    expect(console.get_by_text("San Francisco, CA 94105")).to_be_visible()
    shoot(console, "console-partner")
    page.goto("/portal/account/")
    expect(page.get_by_label("State or province")).to_have_value("CA")
    shoot(page, "portal-account")
