"""Issue 18 journeys: a de_DE business edits a partner's terms typing numbers as it writes them; the
form shows them back the same way, and a number that could mean two things is refused, not guessed.
Its US supplier types its tax % the same way and its bank numbers as printed on a cheque."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from leadbill.entities.models import Entity
from leadbill.partners.models import Partner
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SellerProfile
from leadbill.web.services import partner_user_invite
from tests.browser.conftest import ACTOR, PASSWORD, SLUG, sign_in
from tests.browser.test_selfbilling_flow import OWNER, SUPPLIER, snap

pytestmark = pytest.mark.browser


def test_a_german_business_types_and_reads_back_its_partners_terms(new_page, world, shoot):
    Entity.objects.filter(pk=world.entity.pk).update(locale="de_DE")
    partner = Partner.objects.get(pk=world.partner.pk)
    page = new_page()
    sign_in(page, world.staff_email)
    page.goto(f"/console/{SLUG}/partners/{partner.code}/edit/")
    page.get_by_label("Tax rate (%)").fill("7,5")
    page.get_by_label("Daily cap (leads)").fill("2.500")
    limit = page.get_by_label("Credit limit") if not partner.is_prepay else page.get_by_label("Low-balance alert")
    limit.fill("1.5")  # fifteen, or one and a half? refused, never guessed
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_contain_text("Nothing was saved")
    expect(limit).to_have_value("1.5")
    expect(limit).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Tax rate (%)")).to_have_value("7,5")
    snap(page, "partner-form-de-refused")
    assert Partner.objects.get(pk=partner.pk).cap_daily == partner.cap_daily

    limit.fill("2.500,00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(partner.name)
    saved = Partner.objects.get(pk=partner.pk)
    amount = saved.low_balance_minor if saved.is_prepay else saved.credit_limit_minor
    assert (saved.tax_rate_bp, saved.cap_daily, amount) == (750, 2500, 250_000)

    page.goto(f"/console/{SLUG}/partners/{partner.code}/edit/")
    expect(limit).to_have_value("2.500,00")
    expect(page.get_by_label("Daily cap (leads)")).to_have_value("2.500")
    expect(page.get_by_label("Tax rate (%)")).to_have_value("7,5")
    shoot(page, "partner-form-de")
    page.goto(f"/console/{SLUG}/partners/{partner.code}/")
    expect(page.locator("dl.facts").first).to_contain_text("7,5\u00a0%")
    expect(page.locator("dl.facts").last).to_contain_text("2.500 a day")
    shoot(page, "partner-detail-de")


def test_a_supplier_of_a_german_business_types_its_tax_rate_and_us_bank_numbers(new_page, world, shoot):
    Entity.objects.filter(pk=world.entity.pk).update(locale="de_DE")
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    supplier = Partner.objects.get(entity=world.entity, code=SUPPLIER)
    partner_user_invite(actor=ACTOR, partner=supplier, email=OWNER, name="Jordan Lee", main_contact=True,
                        password=PASSWORD)  # fmt: skip
    page = new_page()
    sign_in(page, OWNER)
    page.goto("/portal/account/self-billing/")
    page.get_by_label("Tax id").fill("12-3456789")
    page.get_by_label("ABA routing number").fill("021-000-021")
    page.get_by_label("Account number").fill("0001 2345 6789")
    page.get_by_label("Tax rate %").fill("7.5")  # German grouping: seventy-five or seven and a half?
    page.get_by_role("button", name="Save details only").click()
    expect(page.locator("#id_tax_rate_error")).to_contain_text("Did you mean")
    expect(page.get_by_label("ABA routing number")).to_have_value("021-000-021")
    snap(page, "portal-self-billing-de-refused")
    assert not SellerProfile.objects.filter(partner=supplier).exists()

    page.get_by_label("Tax rate %").fill("7,5")
    page.get_by_role("button", name="Save details only").click()
    expect(page.locator(".messages")).to_contain_text("Your seller details are saved")
    profile = SellerProfile.objects.get(partner=supplier)
    assert (profile.tax_rate_bp, profile.routing_number, profile.account_number) == (750, "021000021", "000123456789")
    page.goto("/portal/account/self-billing/")
    expect(page.get_by_label("Tax rate %")).to_have_value("7,5")
    shoot(page, "portal-self-billing-de")
