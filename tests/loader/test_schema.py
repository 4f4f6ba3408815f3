"""Reading and validating set-up files; no database."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadbill.loader.schema import SetupFileError, load_yaml, parse_document
from tests.loader.helpers import (
    BLUE_RIVER_LAST_TIER,
    DOC,
    SONNENSCHEIN_LAST_TIER,
    edited,
    example_text,
    minimal,
)


def problems_of(text: str) -> list[str]:
    with pytest.raises(SetupFileError) as info:
        parse_document(text)
    return [str(p) for p in info.value.problems]


def only_partner(text: str):
    return parse_document(text).entities[0].partners[0]


def walk(value):
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


# --- the example ---------------------------------------------------------------------


def test_example_file_is_valid():
    document = parse_document(example_text())
    assert [e.slug for e in document.entities] == ["acme-us", "acme-eu"]
    assert [p.code for p in document.entities[0].partners] == ["blue-river", "lakeside-direct", "northwind-media"]


def test_documentation_shows_the_example_file_verbatim():
    doc = DOC.read_text(encoding="utf-8")
    block = re.search(r"## Full example\n.*?```yaml\n(.*?)```", doc, re.DOTALL)
    assert block is not None
    assert block.group(1) == example_text()


# --- exact numbers ---------------------------------------------------------------------


def test_yaml_numbers_with_a_point_become_decimals_from_their_source_text():
    data = load_yaml("price: 2.00\nsmall: 0.125\nwhole: 3\nsigned: -1.50")
    assert data == {"price": Decimal("2.00"), "small": Decimal("0.125"), "whole": 3, "signed": Decimal("-1.50")}
    assert str(data["price"]) == "2.00"


def test_no_float_survives_loading_the_example():
    assert not any(isinstance(value, float) for value in walk(load_yaml(example_text())))


def test_plan_prices_keep_their_written_decimals():
    plans = parse_document(example_text()).entities[0].partners[0].plans
    assert plans[0].config == {"price": "2.50"}
    assert plans[1].config["tiers"] == [
        {"up_to": 100, "price": "2.00"},
        {"up_to": 300, "price": "1.50"},
        {"up_to": None, "price": "1.00"},
    ]


def test_quoted_prices_are_read_exactly_too():
    plan = only_partner(minimal('{model: flat, price: "0.10", from: 2026-01-01}')).plans[0]
    assert plan.config == {"price": "0.10"}


def test_money_amounts_in_major_units_become_minor_units():
    partner = only_partner(minimal(partner_extra="        credit_limit: 5000.50"))
    assert partner.credit_limit_minor == 500050


def test_money_amount_finer_than_the_currency_is_refused():
    problems = problems_of(minimal(partner_extra="        credit_limit: 10.005"))
    assert problems == ["entities[0].partners[0].credit_limit: 10.005 has more decimals than USD allows (2)"]


def test_money_amounts_follow_the_partners_own_currency():
    problems = problems_of(minimal(partner_extra="        currency: JPY\n        credit_limit: 1.5"))
    assert problems == ["entities[0].partners[0].credit_limit: 1.5 has more decimals than JPY allows (0)"]
    partner = only_partner(minimal(partner_extra="        currency: JPY\n        credit_limit: 150000"))
    assert (partner.currency, partner.credit_limit_minor) == ("JPY", 150000)


def test_percentages_become_basis_points():
    text = minimal(
        entity_extra="    tax_rate: 19",
        partner_extra="        tax_rate: 7.5\n        returns: {max_share: 12.25}",
    )
    entity = parse_document(text).entities[0]
    assert entity.tax_rate_bp == 1900
    assert entity.partners[0].tax_rate_bp == 750
    assert entity.partners[0].return_max_share_bp == 1225


def test_tax_rate_with_three_decimals_is_refused():
    assert problems_of(minimal(entity_extra="    tax_rate: 19.125")) == [
        "entities[0].tax_rate: at most two decimals, got 19.125"
    ]


# --- text ------------------------------------------------------------------------------


def test_norway_and_leading_zero_postal_codes_stay_text():
    partner = only_partner(minimal(partner_extra="        address: {postal_code: 02110, country: NO}"))
    assert (partner.address.postal_code, partner.address.country) == ("02110", "NO")


def test_partner_currency_defaults_to_the_entitys():
    assert only_partner(minimal()).currency == "USD"


def test_partner_without_roles_is_a_buyer():
    partner = only_partner(minimal())
    assert (partner.is_buyer, partner.is_supplier) == (True, False)


# --- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "instant"),
    [
        ("2026-01-01", datetime(2026, 1, 1, 5, tzinfo=UTC)),  # local midnight, EST
        ("2026-07-01", datetime(2026, 7, 1, 4, tzinfo=UTC)),  # local midnight, EDT
        ("2026-01-01T06:30", datetime(2026, 1, 1, 11, 30, tzinfo=UTC)),  # naive: local time
        ('"2026-01-01 06:30"', datetime(2026, 1, 1, 11, 30, tzinfo=UTC)),
        ('"2026-01-01T00:00:00+01:00"', datetime(2025, 12, 31, 23, tzinfo=UTC)),  # exact instant
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_plan_start_is_read_in_the_entitys_time_zone(written, instant):
    plan = only_partner(minimal(f"{{model: flat, price: 1, from: {written}}}")).plans[0]
    assert plan.effective_from == instant


def test_plan_start_that_is_not_a_date_is_refused():
    problems = problems_of(minimal("{model: flat, price: 1, from: 2026-13-01}"))
    assert len(problems) == 1
    assert problems[0].startswith("entities[0].partners[0].plans[0].from: not a valid date")


# --- refusals, with paths ----------------------------------------------------------------


def test_negative_tier_price_is_refused_at_its_path():
    text = edited("{up_to: null, price: 1.00}", "{up_to: null, price: -1.00}")
    assert problems_of(text) == [f"{BLUE_RIVER_LAST_TIER}: a price cannot be negative"]


def test_every_problem_of_the_file_is_reported_at_once():
    text = edited("{up_to: null, price: 1.00}", "{up_to: null, price: -1.00}")
    text = edited("{up_to: null, price: 10.50}", "{up_to: null, price: -10.50}", text)
    text = edited("currency: EUR", "currency: EURO", text)
    text = edited("        credit_limit: 5000.00", "        credit_limt: 5000.00", text)
    assert sorted(problems_of(text)) == [
        "entities[0].partners[0].credit_limt: unknown key (did you mean 'credit_limit'?)",
        f"{BLUE_RIVER_LAST_TIER}: a price cannot be negative",
        "entities[1].currency: unknown currency 'EURO' (expected an ISO 4217 code such as EUR)",
        f"{SONNENSCHEIN_LAST_TIER}: a price cannot be negative",
    ]


def test_unknown_key_is_refused_with_a_hint():
    text = edited("    timezone: Europe/Berlin", "    time_zone: Europe/Berlin")
    assert problems_of(text) == [
        "entities[1].timezone: required",
        "entities[1].time_zone: unknown key (did you mean 'timezone'?)",
    ]


def test_unknown_key_in_a_plan_is_refused_by_its_pricing_model():
    problems = problems_of(minimal("{model: flat, price: 1, prise: 2, from: 2026-01-01}"))
    assert problems == ["entities[0].partners[0].plans[0].prise: unknown key 'prise'"]


def test_unknown_pricing_model_is_refused():
    problems = problems_of(minimal("{model: tiered, from: 2026-01-01}"))
    assert problems == [
        "entities[0].partners[0].plans[0].model: unknown pricing model 'tiered' "
        "(one of: delivered, flat, graduated, volume)"
    ]


def test_plan_for_a_profile_the_partner_does_not_have_is_refused():
    problems = problems_of(minimal("{model: flat, price: 1, from: 2026-01-01, profile: ca}"))
    assert problems == [
        "entities[0].partners[0].plans[0].profile: no profile 'ca' for this partner, in the file or the database"
    ]


def test_plan_for_a_profile_known_to_the_catalog_is_accepted():
    class Catalog:
        def has_profile(self, entity, partner, code):
            return (entity, partner, code) == ("unit", "buyer", "ca")

        def has_lead_type(self, entity, code):
            return False

    text = minimal("{model: flat, price: 1, from: 2026-01-01, profile: ca}")
    assert parse_document(text, catalog=Catalog()).entities[0].partners[0].plans[0].profile == "ca"


def test_plan_for_an_unknown_lead_type_is_refused():
    problems = problems_of(minimal("{model: flat, price: 1, from: 2026-01-01, lead_type: boat}"))
    assert problems == [
        "entities[0].partners[0].plans[0].lead_type: no lead type 'boat' in this entity, in the file or the database"
    ]


def test_buy_plan_needs_a_supplier():
    problems = problems_of(minimal("{model: flat, side: buy, price: 1, from: 2026-01-01}"))
    assert problems == ["entities[0].partners[0].plans[0].side: a buy plan needs the partner's supplier role"]


def test_two_plans_for_the_same_scope_and_start_are_refused():
    problems = problems_of(
        minimal("{model: flat, price: 1, from: 2026-01-01}, {model: flat, price: 2, from: 2026-01-01}")
    )
    assert problems == [
        "entities[0].partners[0].plans[1]: a plan with the same scope, side and start is already given at "
        "entities[0].partners[0].plans[0]"
    ]


def test_credit_limit_on_a_prepay_partner_is_refused():
    problems = problems_of(minimal(partner_extra="        billing_mode: prepay\n        credit_limit: 100"))
    assert problems == ["entities[0].partners[0].credit_limit: only for billing_mode: credit"]


def test_duplicate_partner_codes_are_refused():
    text = edited("      - code: alpen-leads", "      - code: sonnenschein")
    assert problems_of(text) == [
        "entities[1].partners[1].code: partner 'sonnenschein' is already given at entities[1].partners[0].code"
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("locale", "english", "a locale such as en_US or de_DE"),
        ("email", "billing-at-acme", "not an e-mail address: 'billing-at-acme'"),
        ("payment_terms_days", "-1", "must be from 0 to 2147483647, got -1"),
        ("payment_terms_days", "7.5", "expected a whole number, got a decimal number"),
        ("iban", "DE89 3704 0044 0532 0130 01", "not a valid IBAN (Invalid checksum digits)"),
        ("tax_id", "07-1234567", "not a valid tax id for US (checked as EIN, TIN): '07-1234567'"),
        ("bic", "DEUTXXFF", "not a valid BIC (Invalid country code 'XX'), e.g. DEUTDEFF"),
    ],
)
def test_bad_entity_values_are_refused(key, value, message):
    text = minimal(entity_extra=f"    {key}: {value}")
    assert problems_of(text) == [f"entities[0].{key}: {message}"]


def test_unknown_time_zone_is_refused():
    text = edited("timezone: America/New_York", "timezone: Mars/Olympus", minimal())
    assert problems_of(text) == ["entities[0].timezone: unknown time zone 'Mars/Olympus'"]


def test_country_must_be_two_capital_letters():
    text = edited("country: US}", "country: usa}", minimal())
    assert problems_of(text) == [
        "entities[0].address.country: an ISO 3166-1 country code of two capital letters, e.g. DE"
    ]


# --- YAML itself -------------------------------------------------------------------------


def test_yaml_syntax_error_names_line_and_column():
    problems = problems_of("entities:\n  - slug: a\n    legal_name: [unclosed\n    currency: USD\n")
    assert len(problems) == 1
    assert problems[0].startswith("YAML syntax error at line 4, column 13:")


def test_key_given_twice_is_a_syntax_error():
    problems = problems_of("entities: []\nentities: []\n")
    assert problems == [
        "YAML syntax error at line 2, column 1: found the key 'entities' twice "
        "(while reading a mapping at line 1, column 1)"
    ]


def test_empty_file_is_refused():
    assert problems_of("# nothing here\n") == ["the file is empty"]


# --- payment accounts -----------------------------------------------------------------------


def test_example_entities_have_an_ach_account_and_a_remit_to_address():
    us, eu = parse_document(example_text()).entities
    assert us.columns()["payment_accounts"] == [
        {"currency": "USD", "ach_routing": "021000021", "ach_account": "000123456789", "wire_routing": "021000021",
         "bic": "CHASUS33", "account_name": "Acme Leads Inc.", "bank_name": "JPMorgan Chase Bank, N.A."},
    ]  # fmt: skip
    assert us.remit_to == "Acme Leads Inc.\nPO Box 7701\nNew York, NY 10087-7701"
    assert eu.payment_accounts == () and eu.iban == "DE89370400440532013000"  # the account of its own currency


def test_payment_accounts_per_currency_are_stored_compact():
    accounts = """    payment_accounts:
      - {currency: EUR, iban: DE89 3704 0044 0532 0130 00, bic: COBADEFFXXX}
      - {currency: USD, ach_routing: "021-000-021", ach_account: "1234 5678-9"}"""
    entity = parse_document(minimal(entity_extra=accounts)).entities[0]
    assert entity.columns()["payment_accounts"] == [
        {"currency": "EUR", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
        {"currency": "USD", "ach_routing": "021000021", "ach_account": "123456789"},
    ]


@pytest.mark.parametrize(
    ("account", "problems"),
    [
        ("{currency: EUR, iban: DE89 3704 0044 0532 0130 01}",
         ["iban: not a valid IBAN (Invalid checksum digits)"]),
        ("{currency: EUR, iban: DE89370400440532013000, bic: DEUTXXFF}",
         ["bic: not a valid BIC (Invalid country code 'XX'), e.g. DEUTDEFF"]),
        ('{currency: USD, ach_routing: "021000022", ach_account: "123456789"}',
         ["ach_routing: not a valid ABA routing number (9 digits with a check digit): '021000022'"]),
        ('{currency: USD, ach_routing: "021000021", ach_account: "1234/5678"}',
         ["ach_account: an account number is digits (spaces and dashes between them are dropped)"]),
        ('{currency: USD, ach_routing: "021000021", ach_account: "123456789012345678"}',
         ["ach_account: an account number has 4 to 17 digits, got 18"]),
        ('{currency: USD, ach_routing: "021000021", ach_account: "123456789", wire_routing: "12"}',
         ["wire_routing: not a valid ABA routing number (9 digits with a check digit): '12'"]),
        ('{currency: USD, ach_routing: "021000021"}', ["ach_account: required"]),
        ('{currency: EUR, ach_routing: "021000021", ach_account: "123456789"}', ["currency: ACH pays in USD, got EUR"]),
        ('{currency: EUR, iban: DE89370400440532013000, ach_account: "123456789"}',
         ["ach_account: an account has an iban, or ach_routing and ach_account, not both"]),
        ("{currency: XXY, iban: DE89370400440532013000}",
         ["currency: unknown currency 'XXY' (expected an ISO 4217 code such as EUR)"]),
        ("{currency: EUR}", ["iban: required: an iban, or ach_routing and ach_account for a US account"]),
        ("{currency: EUR, iban: DE89370400440532013000, account_name: \"A\\u0007B\"}",
         ["account_name: control character U+0007 is not allowed"]),
        ("{currency: EUR, iban: DE89370400440532013000, sort_code: 1}",
         ["sort_code: unknown key (expected one of: currency, iban, bic, account_name, bank_name)"]),
    ],
)  # fmt: skip
def test_bad_payment_accounts_are_refused_naming_the_path(account, problems):
    text = minimal(
        entity_extra=f"    payment_accounts:\n      - {{currency: GBP, iban: GB33BUKB20201555555555}}\n      - {account}"
    )
    assert problems_of(text) == [f"entities[0].payment_accounts[1].{p}" for p in problems]


def test_one_account_per_currency():
    accounts = """    payment_accounts:
      - {currency: EUR, iban: DE89370400440532013000}
      - {currency: EUR, iban: DE02120300000000202051}"""
    assert problems_of(minimal(entity_extra=accounts)) == [
        "entities[0].payment_accounts[1].currency: an account in EUR is already given at "
        "entities[0].payment_accounts[0].currency"
    ]


def test_remit_to_is_bounded_text():
    seven = "\\n".join(f"line {n}" for n in range(7))
    assert problems_of(minimal(entity_extra=f'    remit_to: "{seven}"')) == [
        "entities[0].remit_to: at most 6 lines, got 7"
    ]
    assert problems_of(minimal(entity_extra='    remit_to: "PO Box 1\\u0007"'))[0].startswith("entities[0].remit_to: ")
