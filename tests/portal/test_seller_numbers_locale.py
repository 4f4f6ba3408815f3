"""Issue 18: the supplier types its self-billing tax rate as its business's locale writes numbers, and US
routing and account numbers as printed on a cheque (spaces, dashes); both are stored plain."""

from __future__ import annotations

import pytest

from leadbill.entities.models import Entity
from leadbill.selfbilling.models import SellerProfile
from tests.payouts.conftest import COMPLETE
from tests.portal.test_self_billing_details import owner, text  # noqa: F401  (owner is a fixture)

pytestmark = pytest.mark.django_db
PAGE = "/portal/account/self-billing/"


def in_locale(world, locale: str) -> None:
    Entity.objects.filter(pk=world.entity.pk).update(locale=locale)


@pytest.mark.parametrize(("locale", "typed", "bp", "shown"), [("de_DE", "7,5", 750, "7,5"), ("en_US", "7.5 %", 750, "7.5"),
                                                              ("de_DE", "19", 1900, "19")])  # fmt: skip
def test_the_tax_rate_is_read_and_shown_in_the_locale(world, owner, locale, typed, bp, shown):  # noqa: F811
    in_locale(world, locale)
    response = owner.post(PAGE, {**COMPLETE, "tax_rate": typed, "action": "save"})
    assert response.status_code == 302, text(response)[:2000]
    assert SellerProfile.objects.get(partner=world.supplier).tax_rate_bp == bp
    assert f'name="tax_rate" value="{shown}"' in text(owner.get(PAGE))


def test_a_rate_the_locale_cannot_read_is_refused_on_its_field_and_kept_as_typed(world, owner):  # noqa: F811
    in_locale(world, "de_DE")
    owner.post(PAGE, {**COMPLETE, "tax_rate": "19", "action": "save"})
    response = owner.post(PAGE, {**COMPLETE, "city": "Bonn", "tax_rate": "7.5", "action": "save"})
    page = text(response)
    assert response.status_code == 400 and "Did you mean" in page
    assert 'name="tax_rate" value="7.5"' in page and 'name="city" value="Bonn"' in page
    profile = SellerProfile.objects.get(partner=world.supplier)
    assert (profile.tax_rate_bp, profile.city) == (1900, "Köln")


def test_the_range_check_stays_the_services(world, owner):  # noqa: F811
    in_locale(world, "de_DE")
    response = owner.post(PAGE, {**COMPLETE, "tax_rate": "150,5", "action": "save"})
    assert response.status_code == 400 and not SellerProfile.objects.filter(partner=world.supplier).exists()


def test_us_routing_and_account_numbers_typed_with_gaps_are_stored_compact(world, owner):  # noqa: F811
    us = {**COMPLETE, "legal_name": "Lead Garden Inc.", "address_line1": "9 Affiliate Way", "postal_code": "94105",
          "city": "San Francisco", "region": "CA", "country": "US", "tax_id": "12-3456789", "iban": "",
          "action": "save"}  # fmt: skip
    response = owner.post(PAGE, {**us, "routing_number": "021-000-021", "account_number": "0001 2345 6789"})
    assert response.status_code == 302, text(response)[:2000]
    profile = SellerProfile.objects.get(partner=world.supplier)
    assert (profile.routing_number, profile.account_number) == ("021000021", "000123456789")
    bad = owner.post(PAGE, {**us, "routing_number": "021-000-022", "account_number": "0001 2345 6789"})
    assert bad.status_code == 400 and "not a valid ABA routing number" in text(bad)
    assert 'value="021-000-022"' in text(bad)
