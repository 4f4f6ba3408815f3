"""Graduated tiers: each lead priced by the tier its own rank falls in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadbill.domain.pricing import Band, FlatPrice, GraduatedTiers, Tier, quote

# First 100 at 2.00, next 200 at 1.50, the rest at 1.00 (the spec's table).
SPEC = GraduatedTiers((Tier(100, Decimal("2.00")), Tier(300, Decimal("1.50")), Tier(None, Decimal("1.00"))))


def test_graduated_worked_example_350_leads_cost_550() -> None:
    assert quote(SPEC, 350, "USD") == 55_000


def test_graduated_bands_of_the_worked_example() -> None:
    assert SPEC.bands(1, 350, 350) == [
        Band(1, 100, Decimal("2.00"), "tier 1 (1\u2013100)"),
        Band(101, 300, Decimal("1.50"), "tier 2 (101\u2013300)"),
        Band(301, 350, Decimal("1.00"), "tier 3 (301+)"),
    ]


@pytest.mark.parametrize(
    ("quantity", "expected_minor"),
    [
        (1, 200),
        (99, 19_800),
        (100, 20_000),  # last lead of tier 1
        (101, 20_150),  # first lead of tier 2
        (300, 50_000),  # last lead of tier 2
        (301, 50_100),  # first lead of tier 3
        (1_000, 50_000 + 700 * 100),
    ],
)
def test_graduated_tier_boundaries(quantity: int, expected_minor: int) -> None:
    assert quote(SPEC, quantity, "USD") == expected_minor


def test_graduated_tiers_split_across_boundary() -> None:
    bands = SPEC.bands(90, 110, 110)
    assert [(b.rank_from, b.rank_to, b.unit_price) for b in bands] == [
        (90, 100, Decimal("2.00")),
        (101, 110, Decimal("1.50")),
    ]
    assert [b.quantity for b in bands] == [11, 10]


def test_graduated_ranks_beyond_the_bounded_tiers_fall_in_the_open_tier() -> None:
    assert SPEC.bands(301, 400, 400) == [Band(301, 400, Decimal("1.00"), "tier 3 (301+)")]


def test_graduated_late_leads_continue_the_period_ranks() -> None:
    # 95 leads billed already; 10 late ones take ranks 96..105.
    assert [(b.rank_from, b.rank_to) for b in SPEC.bands(96, 105, 105)] == [(96, 100), (101, 105)]


def test_graduated_ignores_the_period_total() -> None:
    assert SPEC.bands(1, 50, 1_000) == SPEC.bands(1, 50, 50)


def test_graduated_with_no_leads_has_no_bands() -> None:
    assert SPEC.bands(1, 0, 0) == []
    assert SPEC.bands(301, 300, 300) == []


def test_graduated_single_open_tier_is_flat() -> None:
    model = GraduatedTiers((Tier(None, Decimal("0.75")),))
    assert model.bands(1, 10, 10) == [Band(1, 10, Decimal("0.75"), "tier 1 (1+)")]


def test_graduated_amounts_in_yen_and_dinar() -> None:
    yen = GraduatedTiers((Tier(100, Decimal("200")), Tier(None, Decimal("150.5"))))
    assert quote(yen, 103, "JPY") == 20_000 + 452  # 3 x 150.5 = 451.5 -> 452
    dinar = GraduatedTiers((Tier(100, Decimal("0.125")), Tier(None, Decimal("0.0625"))))
    assert quote(dinar, 101, "BHD") == 12_500 + 63  # 0.0625 -> 0.063


def test_graduated_rounds_each_band_not_each_lead() -> None:
    model = GraduatedTiers((Tier(2, Decimal("0.125")), Tier(None, Decimal("0.125"))))
    # Two bands of 0.25 and 0.125 -> 25 + 13, never 3 x 13.
    assert quote(model, 3, "USD") == 38


def test_graduated_rounding_per_band_can_exceed_flat_by_under_a_cent_per_band() -> None:
    # Falling prices cost less before rounding (0.0109 < 0.011), but each band is a
    # line rounded once: 0.0055 -> 0.01 and 0.0054 -> 0.01, against 0.011 -> 0.01 flat.
    model = GraduatedTiers((Tier(1, Decimal("0.0055")), Tier(None, Decimal("0.0054"))))
    assert quote(model, 2, "USD") == 2
    assert quote(FlatPrice(Decimal("0.0055")), 2, "USD") == 1


def test_graduated_config_round_trips() -> None:
    config = {
        "tiers": [{"up_to": 100, "price": "2.00"}, {"up_to": 300, "price": "1.50"}, {"up_to": None, "price": "1"}]
    }
    model = GraduatedTiers.from_config(config)
    assert model == GraduatedTiers((Tier(100, Decimal("2.00")), Tier(300, Decimal("1.50")), Tier(None, Decimal("1"))))
    assert model.to_config() == config
    assert model.describe() == "graduated \u2264100 at 2.00, \u2264300 at 1.50, \u2264\u221e at 1"
