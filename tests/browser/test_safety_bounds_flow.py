"""A price typed 100 times too high: the run's delivery summary holds the partner, finance releases it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from leadbill.catalog.models import PricePlan
from leadbill.catalog.services import price_plan_set
from leadbill.invoicing.models import Invoice, SafetyRelease
from tests.browser.conftest import ACTOR, SLUG, sign_in, snap

pytestmark = pytest.mark.browser


def _mistype_a_price(world) -> tuple[str, str]:
    """A buyer billed in the earlier month gets a flat price 100 times its own from last month on."""
    billed = Invoice.objects.filter(entity=world.entity, period_key=world.history.key, kind="invoice")
    plan = (
        PricePlan.objects.filter(partner__in=billed.values("partner"), side="sell", model="flat",
                                 effective_to__isnull=True, profile__isnull=True, lead_type__isnull=True)
        .select_related("partner").order_by("partner__code").first()
    )  # fmt: skip
    assert plan is not None, "the demo set-up has a flat-priced buyer billed in the earlier month"
    typo = Decimal(plan.config["price"]) * 100
    price_plan_set(actor=ACTOR, partner=plan.partner, model="flat", config={"price": str(typo)},
                   effective_from=world.last.start)  # fmt: skip
    return plan.partner.code, plan.partner.name


def test_a_mistyped_price_is_held_in_the_preview_and_released_with_a_reason(new_page, world):
    code, name = _mistype_a_price(world)
    page = new_page()
    sign_in(page, world.staff_email)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"/console/{SLUG}/runs/preview/?period={world.last.key}")
    held = page.locator("#held")
    expect(held).to_contain_text("Held by safety bounds")
    card = held.locator(f"#held-{code}")
    expect(card).to_contain_text(name)
    expect(card).to_contain_text("Held: unit price")
    expect(card).to_contain_text("this scope had before")
    expect(page.locator(f'a.badge[href="#held-{code}"]')).to_have_text("held")
    snap(page, "run-preview-held")

    card.get_by_role("button", name="Release").click()  # no reason: the browser asks for one
    assert not SafetyRelease.objects.exists()
    card.get_by_label(f"Why it may go to {name}").fill("Price confirmed with the buyer's purchasing team")
    card.get_by_role("button", name="Release").click()
    expect(page.locator(".messages")).to_contain_text(f"{name}'s document for")
    expect(page.locator(f"#held-{code}")).to_have_count(0)
    release = SafetyRelease.objects.get()
    assert release.partner.code == code and release.released_by == f"user:{world.staff_email}"
