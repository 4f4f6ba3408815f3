"""Issue 18, the supplier's self-billing page and payouts in the portal: what is really missing, what is
required, US details, and the tax shown before the payout is ready."""

from __future__ import annotations

import html
import re

import pytest

from leadbill.payouts import services as s
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SellerProfile
from tests.payouts.conftest import ACTOR, COMPLETE, compute, make_supplier, opt_in, ready, supply
from tests.portal.test_self_billing import portal_user

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def owner(world):
    world.supplier.legal_name = "Lead Garden GmbH"
    world.supplier.address_line1, world.supplier.postal_code, world.supplier.city = "Gartenstraße 5", "50667", "Köln"
    world.supplier.country, world.supplier.tax_id = "DE", "DE287654324"
    world.supplier.save()
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    return portal_user(world.supplier, "owner@leadgarden.example", main=True)


def label_of(page: str, name: str) -> str:
    found = re.search(rf'<label for="id_{name}">(.*?)</label>', page, re.S)
    assert found, name
    return found[1]


def test_before_the_first_save_nothing_filled_in_is_called_missing(world, owner):
    page = text(owner.get("/portal/account/self-billing/"))
    assert "Your details are incomplete" not in page and "legal name, street address" not in page
    assert "Your seller details are not saved yet" in page and "Still needed" not in page
    assert 'value="Lead Garden GmbH"' in page and 'value="Gartenstraße 5"' in page


def test_what_is_really_missing_is_named_once_saved(world, owner):
    owner.post("/portal/account/self-billing/", {**COMPLETE, "tax_id": "", "action": "save"})
    page = text(owner.get("/portal/account/self-billing/"))
    assert "Your details are incomplete (missing: tax id)" in page


def test_required_fields_are_marked_and_only_the_others_say_optional(world, owner):
    page = text(owner.get("/portal/account/self-billing/"))
    for name in ("legal_name", "address_line1", "postal_code", "city", "country", "tax_id"):
        assert "required" in label_of(page, name) and "(optional)" not in label_of(page, name), name
    for name in ("address_line2", "region", "iban", "routing_number", "footer"):
        assert "(optional)" in label_of(page, name), name


def test_a_us_supplier_is_asked_for_its_state_and_gives_routing_and_account(world, owner):
    us = {**COMPLETE, "legal_name": "Lead Garden Inc.", "address_line1": "9 Affiliate Way", "postal_code": "94105",
          "city": "San Francisco", "country": "US", "tax_id": "12-3456789", "iban": "", "action": "save"}  # fmt: skip
    owner.post("/portal/account/self-billing/", us)
    page = text(owner.get("/portal/account/self-billing/"))
    assert "missing: state" in page and "required" in label_of(page, "region")
    bad = owner.post("/portal/account/self-billing/", {**us, "region": "ZZ", "routing_number": "021000021"})
    assert bad.status_code == 400
    assert "'ZZ' is not a US state" in text(bad) and "give the account number that goes with" in text(bad)
    assert SellerProfile.objects.get(partner=world.supplier).region == ""  # refused whole
    owner.post("/portal/account/self-billing/", {**us, "region": "California", "routing_number": "021000021",
                                                 "account_number": "000123456789"})  # fmt: skip
    profile = SellerProfile.objects.get(partner=world.supplier)
    assert (profile.region, profile.routing_number, profile.account_number) == ("CA", "021000021", "000123456789")
    assert "Your details are incomplete" not in text(owner.get("/portal/account/self-billing/"))


def test_the_default_prefix_offered_is_the_whole_code(world, owner):
    page = text(owner.get("/portal/account/self-billing/"))
    assert 'value="SB-LEAD-GARDEN-"' in page and 'maxlength="30"' in page


def test_opting_in_from_the_page_self_invoices_the_ready_payout(world, owner):
    payout = ready(compute(world))
    assert "has not opted in" in text(owner.get(f"/portal/payouts/{payout.pk}/"))
    page = text(owner.get("/portal/account/self-billing/"))
    assert "1 ready payout waits for an invoice" in page
    response = owner.post("/portal/account/self-billing/", {**COMPLETE, "tax_rate": "19", "action": "opt_in",
                                                            "accept": "on", "version": "2026-12"})  # fmt: skip
    assert response.status_code == 302
    detail = text(owner.get(f"/portal/payouts/{payout.pk}/"))
    assert "has not opted in" not in detail and "SB-LEAD-GARDEN-000001" in detail


def test_a_pending_payout_shows_the_tax_it_will_carry_and_ready_keeps_it(world, owner):
    opt_in(world, tax_rate="7.5")
    payout = compute(world)
    s.payout_transition(actor=ACTOR, payout=payout, to="pending")
    pending = text(owner.get(f"/portal/payouts/{payout.pk}/"))
    assert "7.50% from your self-billing details" in pending
    totals = re.findall(r'<td class="num">(?:<strong>)?([^<]*?)(?:</strong>)?</td></tr>', pending)[-3:]
    s.payout_transition(actor=ACTOR, payout=payout, to="ready")
    ready_page = text(owner.get(f"/portal/payouts/{payout.pk}/"))
    assert re.findall(r'<td class="num">(?:<strong>)?([^<]*?)(?:</strong>)?</td></tr>', ready_page)[-3:] == totals
    net, tax, total = totals
    assert tax != "€0.00" and net != total


def test_the_portal_payout_list_reads_a_bounded_number_of_queries(world, owner, django_assert_max_num_queries):
    opt_in(world)
    from datetime import UTC, datetime

    from leadbill.domain import periods

    for month in range(1, 10):
        period = periods.month(2026, month, "Europe/Berlin")
        supply(world.supplier, world.buyer, 2, datetime(2026, month, 3, tzinfo=UTC))
        result = s.payout_compute(actor=ACTOR, entity=world.entity, period=period, partners=[world.supplier])
        for po in result.created:
            s.payout_transition(actor=ACTOR, payout=po, to="pending")
    # session, user, partner access, agreement, payouts; the tax: agreements, profiles, line sums; the documents awaiting acceptance. None per row.
    with django_assert_max_num_queries(9):
        page = owner.get("/portal/payouts/")
    assert page.status_code == 200 and len(page.context["rows"]) >= 9
    assert all(row.shown.estimated and row.shown.tax_minor > 0 for row in page.context["rows"])


def test_another_supplier_sees_none_of_it(world, owner):
    other = make_supplier(world.entity, code="other-supplier", name="Other Supplier")
    client = portal_user(other, "owner@other.example", main=True)
    payout = ready(compute(world))
    assert client.get(f"/portal/payouts/{payout.pk}/").status_code == 404
