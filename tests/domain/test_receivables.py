"""Receivables arithmetic: a credit note's total shared between the invoices it corrects."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain.receivables import shares_of


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
