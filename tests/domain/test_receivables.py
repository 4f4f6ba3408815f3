"""Receivables arithmetic: a credit note's total shared between the invoices it corrects, and what
credits netted on an invoice took off its total."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain.receivables import credit_taken_off, shares_of
from leadbill.domain.tax import tax_subtotals


def test_a_total_with_tax_is_shared_by_the_weight_of_each_invoices_lines():
    assert shares_of(440, [200, 200]) == [220, 220]
    assert shares_of(1001, [1, 1]) == [501, 500]  # the odd cent to the earlier
    assert shares_of(100, [0, 3]) == [0, 100]
    assert shares_of(0, [5, 7]) == [0, 0]
    assert shares_of(50, []) == []
    assert shares_of(50, [0, 0]) == [0, 0]


def test_a_negative_weight_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        shares_of(10, [5, -1])


@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**9), min_size=1, max_size=12).filter(any))
def test_shares_add_up_to_the_total_and_each_is_within_one_of_its_exact_part(total, weights):
    shares = shares_of(total, weights)
    assert sum(shares) == total
    whole = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        exact = Fraction(total * weight, whole)
        assert exact - 1 < share < exact + 1
        assert weight or share == 0


def test_a_credit_takes_off_its_net_and_the_tax_it_changed_on_the_documents_sum():
    # lines 0.66 and a credit of 0.33 at 19%: issued 0.33 + 0.06 tax; without the credit 0.66 + 0.13
    assert credit_taken_off([(Decimal("19.00"), 33, 6)], {Decimal("19.00"): 33}, "USD") == 40
    assert credit_taken_off([(Decimal("0.00"), 400, 0)], {Decimal("0.00"): 200}, "USD") == 200
    assert credit_taken_off([(Decimal("19.00"), 100, 19)], {}, "USD") == 0


def test_a_negative_credit_is_refused():
    with pytest.raises(ValueError, match="positive"):
        credit_taken_off([], {Decimal("19.00"): -1}, "USD")


RATES = st.sampled_from([Decimal("0.00"), Decimal("7.00"), Decimal("19.00"), Decimal("20.50")])


@given(
    st.lists(st.tuples(RATES, st.integers(0, 10**7)), max_size=8),
    st.lists(st.tuples(RATES, st.integers(0, 10**6)), max_size=8),
    st.sampled_from(["USD", "JPY", "BHD"]),
)
def test_what_credits_took_off_is_the_documents_total_without_them_less_its_total(charges, credits, currency):
    def total(lines):
        return sum(t.net_minor + t.tax_minor for t in tax_subtotals(lines, currency))

    issued = tax_subtotals(charges + [(rate, -amount) for rate, amount in credits], currency)
    by_rate: dict[Decimal, int] = {}
    for rate, amount in credits:
        by_rate[rate] = by_rate.get(rate, 0) + amount

    taken = credit_taken_off([(t.rate, t.net_minor, t.tax_minor) for t in issued], by_rate, currency)

    assert taken == total(charges) - total(charges + [(rate, -amount) for rate, amount in credits])
