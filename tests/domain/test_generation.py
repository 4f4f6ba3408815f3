"""Invoice generation: drafts from explicit facts, lines per scope, version and band."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadbill.domain.generation import (
    ADJUSTMENT,
    CHARGE,
    PRIOR_PERIOD,
    RETURN_CREDIT,
    Adjustment,
    DraftLine,
    PlanVersion,
    ReturnCredit,
    UsageGroup,
    generate,
    per_lead_amounts,
)
from leadbill.domain.pricing import DeliveredPrice, FlatPrice, GraduatedTiers, PricingModel, Tier, VolumeTiers
from leadbill.domain.tax import TaxSubtotal

VAT = Decimal("19")
SPEC_TIERS = (Tier(100, Decimal("2.00")), Tier(300, Decimal("1.50")), Tier(None, Decimal("1.00")))
GRADUATED = GraduatedTiers(SPEC_TIERS)
VOLUME = VolumeTiers(SPEC_TIERS)


def version(model: PricingModel, *, id: int = 1, day: int = 1) -> PlanVersion:
    return PlanVersion(id=id, model=model, effective_from=datetime(2026, 1, day, tzinfo=UTC))


def usage(model_version: PlanVersion, count: int, **kw: object) -> UsageGroup:
    fields: dict[str, object] = {"scope": "p1", "scope_label": "Solar leads", "bucket": "2026-01"}
    fields.update(kw)
    return UsageGroup(version=model_version, count=count, **fields)  # type: ignore[arg-type]


def spans(draft_lines: tuple[DraftLine, ...] | list[DraftLine]) -> list[tuple[int | None, int | None, Decimal | None]]:
    return [(line.rank_from, line.rank_to, line.unit_price) for line in draft_lines]


def test_graduated_worked_example_becomes_one_line_per_tier() -> None:
    draft = generate(currency="EUR", tax_rate=VAT, usage=[usage(version(GRADUATED), 350)])
    assert spans(draft.lines) == [
        (1, 100, Decimal("2.00")),
        (101, 300, Decimal("1.50")),
        (301, 350, Decimal("1.00")),
    ]
    assert [line.amount_minor for line in draft.lines] == [20_000, 30_000, 5_000]
    assert [line.quantity for line in draft.lines] == [100, 200, 50]
    assert {line.kind for line in draft.lines} == {CHARGE}
    assert draft.lines[0].description == "Solar leads \u2014 tier 1 (1\u2013100)"
    assert draft.subtotal_minor == 55_000
    assert draft.taxes == (TaxSubtotal(VAT, 55_000, 10_450),)
    assert draft.total_minor == 65_450
    assert draft.leads_billed == 350


def test_volume_worked_example_is_one_line_at_the_tier_reached() -> None:
    draft = generate(currency="EUR", tax_rate=VAT, usage=[usage(version(VOLUME), 350)])
    assert spans(draft.lines) == [(1, 350, Decimal("1.00"))]
    assert draft.subtotal_minor == 35_000


def test_mid_period_price_change_splits_lines_at_the_version_boundary() -> None:
    # Old plan for the first 120 leads of January; from the 15th a cheaper table.
    old = version(GRADUATED, id=7, day=1)
    new = version(
        GraduatedTiers((Tier(100, Decimal("1.80")), Tier(300, Decimal("1.20")), Tier(None, Decimal("0.90")))),
        id=8,
        day=15,
    )
    # Given in the "wrong" order: versions are ranked by their effective time.
    draft = generate(currency="EUR", tax_rate=VAT, usage=[usage(new, 230), usage(old, 120)])
    assert [(line.version_id, *span) for line, span in zip(draft.lines, spans(draft.lines), strict=True)] == [
        (7, 1, 100, Decimal("2.00")),
        (7, 101, 120, Decimal("1.50")),
        (8, 121, 300, Decimal("1.20")),  # tiers keep counting across versions
        (8, 301, 350, Decimal("0.90")),
    ]
    assert draft.subtotal_minor == 20_000 + 3_000 + 21_600 + 4_500
    assert draft.leads_billed == 350


def test_mid_period_change_from_flat_to_volume_prices_by_the_period_total() -> None:
    flat = version(FlatPrice(Decimal("3.00")), id=1, day=1)
    volume = version(VOLUME, id=2, day=20)
    draft = generate(currency="EUR", tax_rate=VAT, usage=[usage(flat, 50), usage(volume, 60)])
    # 110 leads in the period: the volume plan's leads take tier 2.
    assert spans(draft.lines) == [(1, 50, Decimal("3.00")), (51, 110, Decimal("1.50"))]


def test_late_leads_continue_ranks_after_those_already_billed() -> None:
    late = usage(version(GRADUATED), 10, bucket="2025-12", already_billed=95, prior=True)
    draft = generate(currency="EUR", tax_rate=VAT, usage=[late])
    assert spans(draft.lines) == [(96, 100, Decimal("2.00")), (101, 105, Decimal("1.50"))]
    assert [line.kind for line in draft.lines] == [PRIOR_PERIOD, PRIOR_PERIOD]
    assert draft.lines[0].description.startswith("Prior period 2025-12: Solar leads")
    assert draft.lines[0].bucket == "2025-12"
    assert draft.subtotal_minor == 1_000 + 750
    assert draft.leads_billed == 10


def test_late_volume_leads_take_the_tier_their_period_now_reaches() -> None:
    late = usage(version(VOLUME), 10, bucket="2025-12", already_billed=295, prior=True)
    draft = generate(currency="EUR", tax_rate=VAT, usage=[late])
    assert spans(draft.lines) == [(296, 305, Decimal("1.00"))]


def test_current_lines_come_before_prior_period_lines() -> None:
    current = usage(version(GRADUATED), 5)
    late = usage(version(GRADUATED), 5, bucket="2025-12", already_billed=3, prior=True)
    draft = generate(currency="EUR", tax_rate=VAT, usage=[late, current])
    assert [(line.kind, line.rank_from) for line in draft.lines] == [(CHARGE, 1), (PRIOR_PERIOD, 4)]


def test_each_scope_ranks_its_own_leads() -> None:
    v = version(GRADUATED)
    draft = generate(
        currency="EUR",
        tax_rate=VAT,
        usage=[usage(v, 80, scope="p1"), usage(v, 80, scope="p2", scope_label="Roof leads")],
    )
    assert [(line.scope, line.rank_from, line.rank_to) for line in draft.lines] == [("p1", 1, 80), ("p2", 1, 80)]


def test_empty_usage_groups_are_skipped() -> None:
    draft = generate(currency="EUR", tax_rate=VAT, usage=[usage(version(GRADUATED), 0)])
    assert draft.is_empty
    assert draft.taxes == ()
    assert draft.total_minor == 0


def test_delivered_price_group_is_one_line_rounded_once() -> None:
    group = usage(version(DeliveredPrice()), 3, price_sum_micros=375_000)
    draft = generate(currency="USD", tax_rate=Decimal("0"), usage=[group])
    (line,) = draft.lines
    assert (line.quantity, line.unit_price, line.amount_minor) == (3, None, 38)
    assert line.unit_price_micros is None
    assert per_lead_amounts(line, "USD", [125_000, 125_000, 125_000]) == [13, 12, 13]


def test_yen_and_dinar_lines_round_to_their_minor_unit() -> None:
    yen = generate(currency="JPY", tax_rate=Decimal("10"), usage=[usage(version(FlatPrice(Decimal("0.5"))), 3)])
    assert yen.lines[0].amount_minor == 2  # 1.5 yen -> 2
    assert yen.taxes == (TaxSubtotal(Decimal("10"), 2, 0),)
    dinar = generate(currency="BHD", tax_rate=Decimal("10"), usage=[usage(version(FlatPrice(Decimal("0.1255"))), 3)])
    assert dinar.lines[0].amount_minor == 377  # 0.3765 -> 0.377
    assert dinar.taxes == (TaxSubtotal(Decimal("10"), 377, 38),)  # 0.0377 -> 0.038


def test_return_credits_become_negative_lines_at_the_billed_amount() -> None:
    draft = generate(
        currency="EUR",
        tax_rate=VAT,
        usage=[usage(version(FlatPrice(Decimal("2.00"))), 10)],
        credits=[ReturnCredit("Returned leads, December", 2, 400), ReturnCredit("Nothing returned", 0, 0)],
    )
    credit = draft.lines[-1]
    assert (credit.kind, credit.quantity, credit.amount_minor, credit.unit_price) == (RETURN_CREDIT, 2, -400, None)
    assert credit.description == "Returned leads, December"
    assert len(draft.lines) == 2
    assert draft.leads_credited == 2
    assert draft.leads_billed == 10
    assert draft.subtotal_minor == 1_600
    assert draft.taxes == (TaxSubtotal(VAT, 1_600, 304),)


def test_adjustments_become_lines_with_their_reason_and_id() -> None:
    draft = generate(
        currency="EUR",
        tax_rate=VAT,
        adjustments=[Adjustment(11, -500, "Goodwill credit"), Adjustment(12, 250, "Setup fee")],
    )
    assert [
        (line.kind, line.description, line.quantity, line.amount_minor, line.adjustment_id) for line in draft.lines
    ] == [
        (ADJUSTMENT, "Goodwill credit", 1, -500, 11),
        (ADJUSTMENT, "Setup fee", 1, 250, 12),
    ]
    assert draft.leads_billed == 0
    assert draft.subtotal_minor == -250
    assert draft.taxes == (TaxSubtotal(VAT, -250, -48),)  # -47.5 -> -48, half away from zero


def test_totals_equal_the_sum_of_their_parts() -> None:
    draft = generate(
        currency="EUR",
        tax_rate=VAT,
        usage=[
            usage(version(GRADUATED), 123),
            usage(version(FlatPrice(Decimal("0.125"))), 3, scope="p2"),
            usage(version(GRADUATED), 4, bucket="2025-12", already_billed=99, prior=True),
        ],
        credits=[ReturnCredit("Returns", 1, 200)],
        adjustments=[Adjustment(1, -99, "Rebate")],
    )
    assert draft.subtotal_minor == sum(line.amount_minor for line in draft.lines)
    assert draft.tax_minor == sum(t.tax_minor for t in draft.taxes)
    assert draft.total_minor == draft.subtotal_minor + draft.tax_minor
    assert sum(t.net_minor for t in draft.taxes) == draft.subtotal_minor


def test_tax_is_on_the_summed_line_nets_not_per_line() -> None:
    # Three scopes of one lead at 0.05: per-line 10% tax would be 3 x 0.01.
    v = version(FlatPrice(Decimal("0.05")))
    draft = generate(currency="EUR", tax_rate=Decimal("10"), usage=[usage(v, 1, scope=s) for s in ("a", "b", "c")])
    assert draft.taxes == (TaxSubtotal(Decimal("10"), 15, 2),)


def test_per_lead_amounts_share_a_line_exactly() -> None:
    draft = generate(currency="USD", tax_rate=VAT, usage=[usage(version(FlatPrice(Decimal("0.125"))), 3)])
    (line,) = draft.lines
    assert line.unit_price_micros == 125_000
    assert per_lead_amounts(line, "USD") == [13, 12, 13]


def test_per_lead_amounts_count_from_the_line_start_not_the_period_rank() -> None:
    late = usage(version(FlatPrice(Decimal("0.125"))), 3, bucket="2025-12", already_billed=1, prior=True)
    (line,) = generate(currency="USD", tax_rate=VAT, usage=[late]).lines
    assert (line.rank_from, line.rank_to) == (2, 4)
    assert per_lead_amounts(line, "USD") == [13, 12, 13]


def test_per_lead_amounts_refuse_a_line_without_leads() -> None:
    (line,) = generate(currency="EUR", tax_rate=VAT, adjustments=[Adjustment(1, 100, "Fee")]).lines
    with pytest.raises(ValueError, match="only usage lines"):
        per_lead_amounts(line, "EUR")
