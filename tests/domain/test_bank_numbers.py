"""US routing and account numbers as people type them: grouped with spaces or dashes, stored compact."""

from __future__ import annotations

import pytest

from leadbill.domain.errors import DomainError
from leadbill.domain.identifiers import aba_routing, account_number


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("021000021", "021000021"), ("021-000-021", "021000021"), ("0110 0001 5", "011000015"),
     (" 021 000 021 ", "021000021"), ("021\u2013000\u2013021", "021000021"), ("", ""),
     # stdnum reads full-width digits (an East Asian keyboard) as the digits they are; stored ASCII
     ("０２１００００２１", "021000021")],
)  # fmt: skip
def test_a_routing_number_is_compacted_before_its_check(typed, stored):
    assert aba_routing(typed) == stored


@pytest.mark.parametrize("typed", ["021-000-022", "02100002", "021.000.021", "1" * 41, "021_000_021"])
def test_a_wrong_routing_number_is_still_refused(typed):
    with pytest.raises(DomainError, match="routing number"):
        aba_routing(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("000123456789", "000123456789"), ("0001 2345 6789", "000123456789"), ("1234-5678", "12345678"),
     ("", "")],
)  # fmt: skip
def test_an_account_number_is_compacted_keeping_leading_zeros(typed, stored):
    assert account_number(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [("123", "4 to 17 digits, got 3"), ("1234 5678 9012 3456 78", "4 to 17 digits, got 18"),
     ("1234/5678", "digits"), ("١٢٣٤٥", "digits"), ("1" * 41, "digits")],
)  # fmt: skip
def test_a_wrong_account_number_is_still_refused(typed, message):
    with pytest.raises(DomainError, match=message):
        account_number(typed)
