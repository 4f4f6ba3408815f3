"""Issue 18: the cap policy and over-cap price in the set-up file."""

from __future__ import annotations

import pytest

from leadbill.loader.schema import SetupFileError, parse_document
from tests.loader.helpers import minimal


def partner(extra: str):
    return parse_document(minimal(partner_extra=extra)).entities[0].partners[0].columns()


def test_policy_and_over_cap_price_are_read_and_default_to_flag():
    columns = partner('        caps: {monthly: 600, policy: price, over_cap_price: "0.75"}')
    assert (columns["cap_monthly"], columns["cap_policy"], columns["over_cap_price_micros"]) == (600, "price", 750_000)
    assert partner("        caps: {daily: 10}")["cap_policy"] == "flag"
    assert partner("        caps: {daily: 10, policy: exclude}")["over_cap_price_micros"] is None


@pytest.mark.parametrize(
    ("caps", "problem"),
    [
        ("{daily: 10, policy: price}", "caps.over_cap_price: required with policy: price"),
        ("{daily: 10, policy: drop}", "caps.policy: "),
        ('{daily: 10, policy: price, over_cap_price: "-1"}', "caps.over_cap_price: a price cannot be negative"),
    ],
)
def test_bad_policies_are_named_by_path(caps, problem):
    with pytest.raises(SetupFileError) as info:
        parse_document(minimal(partner_extra=f"        caps: {caps}"))
    assert any(str(p).startswith(f"entities[0].partners[0].{problem}") for p in info.value.problems), [
        str(p) for p in info.value.problems
    ]
