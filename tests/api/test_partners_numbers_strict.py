"""Issue 18: numbers typed in a locale are for forms; the API reads strict decimal strings whatever the
entity's locale (a "2,50" is refused with 422, never read as 2.50 or 250)."""

from __future__ import annotations

import pytest

from leadbill.entities.models import Entity
from leadbill.partners.models import Partner


@pytest.mark.django_db
@pytest.mark.parametrize("locale", ["de_DE", "en_US"])
@pytest.mark.parametrize("field", ["credit_limit", "tax_rate"])
@pytest.mark.parametrize("value", ["2,50", "2.500,00", "1,000"])
def test_a_localised_number_to_the_partner_api_is_refused(world, locale, field, value):
    Entity.objects.filter(pk=world.entity.pk).update(locale=locale)
    before = Partner.objects.values("credit_limit_minor", "tax_rate_bp").get(pk=world.acme.pk)
    response = world.full.put("/partners/acme", {field: value})
    assert response.status_code == 422, response.body
    assert Partner.objects.values("credit_limit_minor", "tax_rate_bp").get(pk=world.acme.pk) == before


@pytest.mark.django_db
def test_a_plain_decimal_string_is_read_in_any_locale(world):
    Entity.objects.filter(pk=world.entity.pk).update(locale="de_DE")
    response = world.full.put("/partners/acme", {"credit_limit": "2500.00", "tax_rate": "7.5"})
    assert response.status_code == 200, response.body
    acme = Partner.objects.get(pk=world.acme.pk)
    assert (acme.credit_limit_minor, acme.tax_rate_bp) == (250_000, 750)


@pytest.mark.django_db
def test_a_localised_amount_to_the_refund_api_is_refused(world):
    Entity.objects.filter(pk=world.entity.pk).update(locale="de_DE")
    response = world.full.post("/partners/acme/credit/refunds", {"currency": "EUR", "amount": "2,50"})
    assert response.status_code == 422, response.body
