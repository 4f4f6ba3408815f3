"""Money: exact amounts in minor units that always carry their currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadbill.domain.errors import MoneyError
from leadbill.domain.money import (
    Money,
    check_currency,
    decimal_to_minor,
    exponent,
    micros_to_unit_price,
    minor_to_decimal,
    parse_decimal,
    unit_price_to_micros,
)


@pytest.mark.parametrize(
    ("currency", "decimals"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("KWD", 3)]
)
def test_exponent_follows_iso_4217_minor_units(currency: str, decimals: int) -> None:
    assert exponent(currency) == decimals


@pytest.mark.parametrize("code", ["eur", "EUR ", "XXX", ""])
def test_unknown_or_misspelt_currency_is_refused(code: str) -> None:
    with pytest.raises(MoneyError, match="unknown currency"):
        check_currency(code)


def test_money_of_decimal_string_stores_minor_units() -> None:
    assert Money.of("12.34", "USD") == Money(1234, "USD")
    assert Money.of("1500", "JPY") == Money(1500, "JPY")
    assert Money.of("1.234", "BHD") == Money(1234, "BHD")


def test_money_amount_has_exactly_the_currency_decimals() -> None:
    assert str(Money(150, "USD")) == "1.50 USD"
    assert str(Money(1500, "JPY")) == "1500 JPY"
    assert str(Money(1234, "BHD")) == "1.234 BHD"
    assert str(Money(5, "BHD")) == "0.005 BHD"
    assert Money(-150, "EUR").amount == Decimal("-1.50")


@pytest.mark.parametrize(("amount", "currency"), [("12.5", "JPY"), ("0.001", "USD"), ("1.2345", "BHD")])
def test_amount_finer_than_the_minor_unit_is_refused_not_rounded(amount: str, currency: str) -> None:
    with pytest.raises(MoneyError, match="more decimals than"):
        Money.of(amount, currency)


def test_money_in_unknown_currency_cannot_be_built() -> None:
    with pytest.raises(MoneyError):
        Money(100, "usd")


def test_money_adds_and_subtracts_in_one_currency() -> None:
    a, b = Money.of("10.00", "EUR"), Money.of("2.50", "EUR")
    assert a + b == Money(1250, "EUR")
    assert a - b == Money(750, "EUR")
    assert -b == Money(-250, "EUR")
    assert Money.zero("EUR") + a == a


def test_money_refuses_to_mix_currencies() -> None:
    with pytest.raises(MoneyError, match="cannot combine EUR with USD"):
        Money(100, "EUR") + Money(100, "USD")
    with pytest.raises(MoneyError):
        Money(100, "EUR") - Money(100, "GBP")


@pytest.mark.parametrize("value", [1.5, True, None, [1]])
def test_parse_decimal_refuses_floats_and_non_numbers(value: object) -> None:
    with pytest.raises(MoneyError, match="expected a decimal string") as exc:
        parse_decimal(value, field="price")  # type: ignore[arg-type]
    assert exc.value.field == "price"


@pytest.mark.parametrize("text", ["abc", "1,50", "NaN", "Infinity", ""])
def test_parse_decimal_refuses_text_that_is_not_a_finite_number(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_decimal(text)


def test_parse_decimal_keeps_the_written_digits() -> None:
    assert str(parse_decimal(" 1.50 ")) == "1.50"
    assert parse_decimal(3) == Decimal(3)
    assert parse_decimal(Decimal("0.125")) == Decimal("0.125")


def test_unit_price_converts_exactly_to_micros() -> None:
    assert unit_price_to_micros(Decimal("0.125")) == 125_000
    assert unit_price_to_micros(Decimal("2.00")) == 2_000_000
    assert unit_price_to_micros(Decimal("0.000001")) == 1
    assert unit_price_to_micros(Decimal("1500")) == 1_500_000_000


def test_unit_price_with_more_than_six_decimals_is_refused() -> None:
    with pytest.raises(MoneyError, match="more than 6 decimals"):
        unit_price_to_micros(Decimal("0.0000001"))


def test_micros_back_to_unit_price_is_the_shortest_plain_decimal() -> None:
    assert micros_to_unit_price(1_500_000) == Decimal("1.5")
    assert str(micros_to_unit_price(125_000)) == "0.125"
    assert str(micros_to_unit_price(0)) == "0"
    # Whole tens stay in plain digits, not exponent form ("1E+1").
    assert str(micros_to_unit_price(10_000_000)) == "10"
    assert str(micros_to_unit_price(100_000_000)) == "100"
    assert str(micros_to_unit_price(-20_000_000)) == "-20"


def test_minor_units_convert_to_decimals_and_back() -> None:
    assert str(minor_to_decimal(5, "USD")) == "0.05"
    assert str(minor_to_decimal(5, "JPY")) == "5"
    assert str(minor_to_decimal(5, "BHD")) == "0.005"
    assert decimal_to_minor(Decimal("0.05"), "USD") == 5
    assert decimal_to_minor(Decimal("12"), "BHD") == 12_000


def test_decimal_to_minor_does_not_round() -> None:
    with pytest.raises(MoneyError) as exc:
        decimal_to_minor(Decimal("0.125"), "USD", field="total")
    assert exc.value.field == "total"
    assert str(exc.value).startswith("total: ")


@pytest.mark.parametrize(
    ("micros", "currency", "text"),
    [(2_500_000, "USD", "2.50"), (2_000_000, "USD", "2.00"), (125_000, "USD", "0.125"), (150_000_000, "JPY", "150"),
     (1_500_000, "JPY", "1.5"), (1_234_500, "BHD", "1.2345"), (0, "EUR", "0.00")],
)  # fmt: skip
def test_unit_prices_show_at_least_the_currency_decimals(micros, currency, text):
    from leadbill.domain.money import unit_price_text

    assert unit_price_text(micros, currency) == text


def test_parse_decimal_refuses_hostile_text_before_any_arithmetic():
    import time

    from leadbill.domain.errors import MoneyError
    from leadbill.domain.money import parse_decimal, unit_price_to_micros

    started = time.perf_counter()
    for text in ("1e999990", "1e999999999", "9" * 100_000, "١٢", "1_000", "0x10", " NaN", "Infinity", "1e1e1"):
        with pytest.raises(MoneyError):
            parse_decimal(text, field="price")
    with pytest.raises(MoneyError, match="below"):
        unit_price_to_micros(parse_decimal("1e999"), field="price")
    assert time.perf_counter() - started < 0.1
    assert parse_decimal("1e-7") == Decimal("1E-7") and parse_decimal(" -12.50 ") == Decimal("-12.50")
