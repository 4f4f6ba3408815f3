"""Numbers typed as the entity's locale writes them, through the one bounded reader."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain.errors import MoneyError
from leadbill.domain.money import MAX_DECIMAL_CHARS, amount_from_text, parse_decimal
from leadbill.domain.numbers import whole_number

LOCALES = ["en_US", "de_DE", "fr_FR", "de_CH", "en_IN", "nl_NL", "es_ES", "ja_JP"]


def test_grouped_and_decimal_comma_read_as_the_locale_writes_them() -> None:
    assert parse_decimal("2,500.00", locale="en_US") == Decimal("2500.00")
    assert parse_decimal("7,5", locale="de_DE") == Decimal("7.5")
    assert parse_decimal("2.500,75", locale="de_DE") == Decimal("2500.75")
    assert parse_decimal("1 234,5", locale="fr_FR") == Decimal("1234.5")  # a typed space for U+202F
    assert parse_decimal("1\u2019234.5", locale="de_CH") == Decimal("1234.5")
    assert amount_from_text("1.250,50", "EUR", locale="de_DE") == 125050


def test_ambiguous_grouping_is_refused_with_a_hint_not_guessed() -> None:
    with pytest.raises(MoneyError, match="1,5"):
        parse_decimal("1.5", locale="de_DE", field="price")
    with pytest.raises(MoneyError) as caught:
        parse_decimal("2,50", locale="en_US", field="price")
    assert caught.value.field == "price"


@pytest.mark.parametrize("text", ["1e5", "\u0661\u0662", "\uff11\uff12", "nan", "inf", "-", "1..2", "2,5x", "0x10"])
def test_exponents_other_scripts_and_junk_are_refused(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_decimal(text, locale="en_US")


def test_length_is_bounded_before_the_locale_is_consulted() -> None:
    with pytest.raises(MoneyError, match="too long"):
        parse_decimal("1," * 1000 + "0", locale="en_US")
    with pytest.raises(MoneyError, match="too long"):
        parse_decimal("9" * (MAX_DECIMAL_CHARS + 1), locale="de_DE")


def test_without_a_locale_the_reader_stays_strict() -> None:
    with pytest.raises(MoneyError):
        parse_decimal("2,500.00")
    with pytest.raises(MoneyError):
        parse_decimal("7,5")


def test_empty_is_required_not_a_bad_number() -> None:
    with pytest.raises(MoneyError, match="required"):
        parse_decimal("  ", locale="en_US")


@given(
    st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6, allow_nan=False),
    st.sampled_from(LOCALES),
)
def test_what_babel_writes_reads_back_exactly(value: Decimal, locale: str) -> None:
    written = format_decimal(value, locale=locale, decimal_quantization=False, group_separator=True)
    assert parse_decimal(written, locale=locale) == value


@given(st.integers(0, 10**15), st.sampled_from(LOCALES))
def test_whole_numbers_read_with_the_locale_grouping(value: int, locale: str) -> None:
    assert whole_number(format_decimal(value, locale=locale), locale=locale) == value
    assert whole_number(str(value), locale=locale) == value


def test_whole_numbers_refuse_fractions_and_signs() -> None:
    for text in ("2.5", "2,000.0", "-3", "+3", "1e3", "2,50"):
        assert whole_number(text, locale="en_US") is None, text
