"""States and provinces of addresses (domain.regions) and the self-billing rules that use them."""

from __future__ import annotations

import pytest

from leadbill.domain import selfbilling as sb
from leadbill.domain.errors import DomainError
from leadbill.domain.regions import REGION_COUNTRIES, region, region_name, uses_region


@pytest.mark.parametrize(
    ("typed", "country", "stored"),
    [("NY", "US", "NY"), ("ny", "us", "NY"), ("New York", "US", "NY"), ("US-TX", "US", "TX"), ("  district of "
     "columbia ", "US", "DC"), ("ON", "CA", "ON"), ("Quebec", "CA", "QC"), ("nsw", "AU", "NSW"), ("WA", "AU", "WA")],
)  # fmt: skip
def test_a_region_is_stored_as_its_postal_code_whether_typed_as_code_or_name(typed, country, stored):
    assert region(typed, country) == stored


def test_an_unknown_us_state_is_refused_naming_the_field_and_an_example():
    with pytest.raises(DomainError) as exc:
        region("XY", "US")
    assert exc.value.field == "region" and exc.value.message == "'XY' is not a US state: give its code or name, e.g. NY"


def test_a_canadian_code_is_not_a_us_state():
    with pytest.raises(DomainError, match="not a US state"):
        region("ON", "US")


def test_required_region_is_refused_empty_only_where_the_country_uses_one():
    with pytest.raises(DomainError, match=r"give the state of a US address, e\.g\. NY"):
        region("", "US", required=True)
    assert region("", "DE", required=True) == ""


def test_elsewhere_a_region_is_free_text_as_typed():
    assert region(" Bayern ", "DE") == "Bayern" and not uses_region("DE")
    assert region("SP", "BR") == "SP"


def test_control_characters_and_length_are_refused_like_any_text():
    with pytest.raises(DomainError):
        region("New\x00York", "US")
    with pytest.raises(DomainError, match="at most 100 characters"):
        region("x" * 101, "DE")


def test_region_name_and_the_documented_countries():
    assert region_name("NY", "US") == "New York" and region_name("Bayern", "DE") == "Bayern"
    assert set(REGION_COUNTRIES) == {"US", "CA", "AU"}


def test_a_us_seller_without_its_state_misses_it_and_says_state():
    details = {"legal_name": "Atlas Leads Inc.", "address_line1": "1 Main St", "postal_code": "78701",
               "city": "Austin", "country": "US", "tax_id": "12-3456789"}  # fmt: skip
    assert sb.missing_details(details) == ("state",)
    assert sb.missing_details({**details, "region": "TX"}) == ()
    assert sb.missing_details({**details, "country": "CA"}) == ("province or territory",)
    assert "region" in sb.required_fields("US") and "region" not in sb.required_fields("DE")


def test_a_german_seller_needs_no_region():
    details = {"legal_name": "Lead Garden GmbH", "address_line1": "Gartenstraße 5", "postal_code": "50667",
               "city": "Köln", "country": "DE", "tax_id": "DE287654324"}  # fmt: skip
    assert sb.missing_details(details) == ()


def test_bank_details_are_an_iban_or_a_us_routing_and_account_pair():
    assert sb.bank_problems({"iban": "DE02120300000000202051", "bic": "BYLADEM1001"}) == {}
    assert sb.bank_problems({"routing_number": "021000021", "account_number": "000123456789"}) == {}
    assert sb.bank_problems({"routing_number": "021000021"}) == {
        "account_number": "give the account number that goes with the routing number"
    }
    assert sb.bank_problems({"account_number": "123456"}) == {
        "routing_number": "give the ABA routing number of the account's bank"
    }
    assert "iban" in sb.bank_problems({"iban": "DE02120300000000202051", "routing_number": "021000021",
                                       "account_number": "123456"})  # fmt: skip
    assert "bic" in sb.bank_problems({"bic": "BYLADEM1001"})


@pytest.mark.parametrize(
    ("code", "prefix"),
    [("quotewise-affiliates", "SB-QUOTEWISE-AFFILIATES-"), ("lead-garden", "SB-LEAD-GARDEN-"),
     ("the-very-long-named-partner-code", "SB-THE-VERY-LONG-NAMED-"),
     ("supercalifragilisticexpialidocious-leads", "SB-SL-"), ("acme_leads", "SB-ACME-LEADS-")],
)  # fmt: skip
def test_default_prefix_keeps_whole_words_within_the_limit(code, prefix):
    made = sb.default_prefix(code, max_length=30)
    assert made == prefix and len(made) <= 30 and made.endswith("-")
