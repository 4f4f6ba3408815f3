"""Safety bounds in the set-up file: thresholds read and checked; left out, the console's choice stays."""

from __future__ import annotations

import pytest

from leadbill.loader.schema import SetupFileError, parse_document
from tests.loader.helpers import minimal


def entity(extra: str = ""):
    return parse_document(minimal(entity_extra=extra)).entities[0].columns()


def test_thresholds_are_read_with_the_limit_in_minor_units():
    columns = entity('    safety_bounds: {total_multiple: 4, unit_price_multiple: "off", limit: 50000.00}')
    assert (columns["bound_total_multiple"], columns["bound_unit_price_multiple"]) == (4, None)
    assert columns["bound_limit_minor"] == 5_000_000


def test_given_keys_left_out_take_their_defaults_and_no_block_leaves_the_columns_alone():
    columns = entity("    safety_bounds: {limit: 100}")
    assert (columns["bound_total_multiple"], columns["bound_unit_price_multiple"], columns["bound_limit_minor"]) == (
        5, 10, 10_000,
    )  # fmt: skip
    assert not any(key.startswith("bound_") for key in entity())


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("{total_multiple: 1}", "safety_bounds.total_multiple: must be from 2 to 1000, got 1"),
        ("{unit_price_multiple: 2.5}", "safety_bounds.unit_price_multiple: expected a whole number"),
        ("{limit: 0.001}", "safety_bounds.limit: "),
        ("{limit: 0}", "safety_bounds.limit: a limit above zero"),
        ("{limits: 10}", "safety_bounds.limits: unknown key"),
    ],
)
def test_bad_thresholds_are_named_by_path(block, problem):
    with pytest.raises(SetupFileError) as info:
        parse_document(minimal(entity_extra=f"    safety_bounds: {block}"))
    assert any(str(p).startswith(f"entities[0].{problem}") for p in info.value.problems), [
        str(p) for p in info.value.problems
    ]
