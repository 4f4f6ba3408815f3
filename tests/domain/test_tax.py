"""Tax per rate on the sum of the line nets (EN 16931 BR-CO-17)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadbill.domain.errors import DomainError
from leadbill.domain.rounding import tax_minor
from leadbill.domain.tax import TaxSubtotal, check_rate, tax_subtotals


@pytest.mark.parametrize("rate", ["0", "7", "19", "19.5", "8.25", "100"])
def test_tax_rate_is_a_percentage_with_at_most_two_decimals(rate: str) -> None:
    assert check_rate(Decimal(rate)) == Decimal(rate)


@pytest.mark.parametrize(("rate", "message"), [("-1", "0 to 100"), ("100.01", "0 to 100"), ("7.125", "two decimals")])
def test_out_of_range_or_too_fine_tax_rate_is_refused(rate: str, message: str) -> None:
    with pytest.raises(DomainError, match=message) as exc:
        check_rate(Decimal(rate), field="partner.tax_rate")
    assert exc.value.field == "partner.tax_rate"


def test_tax_is_computed_on_summed_nets_not_per_line() -> None:
    # Three lines of 0.05 at 10%: per line 0.005 -> 0.01 each, 0.03 in all;
    # on the summed net (BR-CO-17) 0.15 x 10% = 0.015 -> 0.02.
    lines = [(Decimal("10"), 5)] * 3
    per_line = sum(tax_minor(net, rate, "EUR") for rate, net in lines)
    assert per_line == 3
    assert tax_subtotals(lines, "EUR") == (TaxSubtotal(Decimal("10"), 15, 2),)


def test_tax_subtotals_group_lines_by_rate_in_rate_order() -> None:
    lines = [(Decimal("19"), 10_000), (Decimal("7"), 5_000), (Decimal("19"), 2_500), (Decimal("0"), 300)]
    assert tax_subtotals(lines, "EUR") == (
        TaxSubtotal(Decimal("0"), 300, 0),
        TaxSubtotal(Decimal("7"), 5_000, 350),
        TaxSubtotal(Decimal("19"), 12_500, 2_375),
    )


def test_credit_lines_reduce_the_net_their_rate_is_taxed_on() -> None:
    lines = [(Decimal("19"), 10_000), (Decimal("19"), -2_000)]
    assert tax_subtotals(lines, "EUR") == (TaxSubtotal(Decimal("19"), 8_000, 1_520),)


def test_tax_in_zero_and_three_decimal_currencies() -> None:
    assert tax_subtotals([(Decimal("10"), 1_005)], "JPY") == (TaxSubtotal(Decimal("10"), 1_005, 101),)  # 100.5 -> 101
    assert tax_subtotals([(Decimal("5"), 1_010)], "BHD") == (TaxSubtotal(Decimal("5"), 1_010, 51),)  # 0.0505 -> 0.051


def test_no_lines_no_tax() -> None:
    assert tax_subtotals([], "EUR") == ()
