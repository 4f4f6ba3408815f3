"""Safety bounds: a document absurd against the partner's history is held, a usual one never is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain.bounds import (
    HISTORY_DOCUMENTS,
    NO_HISTORY,
    Bounds,
    Draft,
    History,
    Line,
    ScopePrices,
    Trailing,
    held_reasons,
    plan_prices_micros,
)

PRICE_250 = 250_000_000
PRICE_2_50 = 2_500_000


def history_of(total: int, scope_prices: dict[str, int], documents: int = 6, lines: int = 1) -> History:
    return History(
        trailing=(Trailing("USD", min(documents, 6), total * min(documents, 6)),),
        documents=documents,
        max_lines=lines,
        prices=tuple(ScopePrices(scope, "USD", p, p) for scope, p in scope_prices.items()),
    )


def test_a_mistyped_price_after_normal_invoices_is_held_for_price_and_total():
    history = history_of(25_000, {"t:1": PRICE_2_50})  # six invoices of 100 leads at 2.50
    draft = Draft("USD", 2_500_000, (Line("t:1", "Auto \u2014 flat", (PRICE_250,)),))
    reasons = held_reasons(draft, history, Bounds())
    assert reasons == [
        "total 25000.00 USD is 100\u00d7 the average of its last 6 documents (250.00 USD; bound 5\u00d7)",
        "unit price 250.00 on \u201cAuto \u2014 flat\u201d is more than 10\u00d7 above the 2.50 this scope had before",
    ]


def test_a_partner_without_history_is_held_only_by_the_entity_limit():
    draft = Draft("USD", 90_000, (Line("t:1", "Auto", (PRICE_250,)),))
    assert held_reasons(draft, NO_HISTORY, Bounds()) == []
    assert held_reasons(draft, NO_HISTORY, Bounds(limit_minor=50_000, limit_currency="USD")) == [
        "total 900.00 USD is over the entity's limit of 500.00 USD per document"
    ]


def test_the_limit_is_not_compared_across_currencies():
    draft = Draft("EUR", 90_000)
    assert held_reasons(draft, NO_HISTORY, Bounds(limit_minor=50_000, limit_currency="USD")) == []


def test_more_lines_than_ever_is_held_once_there_are_enough_documents():
    lines = tuple(Line(f"t:{i}", f"Type {i}") for i in range(3))
    draft = Draft("USD", 1000, lines)
    assert held_reasons(draft, history_of(1000, {}, documents=HISTORY_DOCUMENTS, lines=2), Bounds()) == [
        "3 usage lines, more than any of its 3 earlier documents (at most 2)"
    ]
    assert held_reasons(draft, history_of(1000, {}, documents=HISTORY_DOCUMENTS - 1, lines=2), Bounds()) == []


def test_the_previous_plan_version_is_a_reference_when_the_scope_has_no_billed_history():
    draft = Draft("USD", 100, (Line("t:1", "Auto", (PRICE_250,), plan_before_micros=(PRICE_2_50,)),))
    assert len(held_reasons(draft, NO_HISTORY, Bounds())) == 1
    far_below = Draft("USD", 100, (Line("t:1", "Auto", (200_000,), plan_before_micros=(PRICE_2_50,)),))
    assert "below" in held_reasons(far_below, NO_HISTORY, Bounds())[0]


def test_a_rule_set_to_none_is_off():
    history = history_of(25_000, {"t:1": PRICE_2_50})
    draft = Draft("USD", 2_500_000, (Line("t:1", "Auto", (PRICE_250,)),))
    assert held_reasons(draft, history, Bounds(total_multiple=None, unit_price_multiple=None)) == []


def test_plan_prices_are_the_flat_price_or_the_tier_prices():
    assert plan_prices_micros({"price": "2.50"}) == (PRICE_2_50,)
    tiers = {"tiers": [{"up_to": 100, "price": "2.00"}, {"up_to": None, "price": "1.50"}]}
    assert plan_prices_micros(tiers) == (1_500_000, 2_000_000)
    assert plan_prices_micros({}) == ()


# --- properties -------------------------------------------------------------------------------

prices = st.integers(min_value=1, max_value=10**9)
totals = st.integers(min_value=1, max_value=10**10)
scopes = st.sampled_from(["t:1", "t:2", "p:3", "p:3:t:1"])


@st.composite
def usual(draw: st.DrawFn) -> tuple[Draft, History]:
    """A draft just like every one of its earlier documents."""
    total = draw(totals)
    by_scope = draw(st.dictionaries(scopes, prices, min_size=1, max_size=4))
    documents = draw(st.integers(min_value=HISTORY_DOCUMENTS, max_value=40))
    lines = tuple(Line(scope, scope, (price,)) for scope, price in sorted(by_scope.items()))
    history = History(
        trailing=(Trailing("USD", min(documents, 6), total * min(documents, 6)),),
        documents=documents,
        max_lines=len(lines),
        prices=tuple(ScopePrices(scope, "USD", price, price) for scope, price in by_scope.items()),
    )
    return Draft("USD", total, lines), history


@given(usual())
def test_a_draft_equal_to_its_history_is_never_held(case: tuple[Draft, History]) -> None:
    draft, history = case
    assert held_reasons(draft, history, Bounds()) == []


@given(usual(), st.integers(min_value=11, max_value=1000))
def test_a_price_many_times_its_history_always_holds(case: tuple[Draft, History], factor: int) -> None:
    draft, history = case
    first = draft.lines[0]
    raised = Line(first.scope, first.label, tuple(p * factor for p in first.prices_micros))
    draft = Draft(draft.currency, draft.total_minor, (raised, *draft.lines[1:]))
    assert any(first.label in reason for reason in held_reasons(draft, history, Bounds()))


@given(usual())
def test_a_mistyped_price_100_times_over_with_its_total_holds_for_both(case: tuple[Draft, History]) -> None:
    draft, history = case
    raised = tuple(Line(line.scope, line.label, tuple(p * 100 for p in line.prices_micros)) for line in draft.lines)
    reasons = held_reasons(Draft("USD", draft.total_minor * 100, raised), history, Bounds())
    assert reasons[0].startswith("total ") and len(reasons) == 1 + len(raised)


@given(totals, st.integers(min_value=0, max_value=10**10), st.integers(min_value=0, max_value=10**10))
def test_no_history_and_no_limit_never_holds(total: int, price: int, limit_gap: int) -> None:
    draft = Draft("USD", total, (Line("t:1", "Auto", (price,)),))
    assert held_reasons(draft, NO_HISTORY, Bounds()) == []
    assert held_reasons(draft, NO_HISTORY, Bounds(limit_minor=total + limit_gap, limit_currency="USD")) == []


@given(usual(), st.integers(min_value=6, max_value=1000), st.integers(min_value=0, max_value=10**6))
def test_a_release_covers_its_total_and_no_more(case: tuple[Draft, History], factor: int, growth: int) -> None:
    draft, history = case
    big = Draft("USD", draft.total_minor * factor, draft.lines)
    assert held_reasons(big, history, Bounds())  # held: many times the average
    assert held_reasons(big, history, Bounds(), released_minor=big.total_minor) == []
    grown = Draft("USD", big.total_minor + growth + 1, big.lines)
    again = held_reasons(grown, history, Bounds(), released_minor=big.total_minor)
    assert again and "held again" in again[0]


@given(usual(), st.integers(min_value=2, max_value=1000), st.integers(min_value=0, max_value=10**12))
def test_a_higher_threshold_never_holds_more(case: tuple[Draft, History], multiple: int, total: int) -> None:
    draft, history = case
    draft = Draft("USD", total, draft.lines)
    strict = held_reasons(draft, history, Bounds(total_multiple=multiple, unit_price_multiple=multiple))
    loose = held_reasons(draft, history, Bounds(total_multiple=multiple + 1, unit_price_multiple=multiple + 1))
    assert len(loose) <= len(strict)


def test_one_earlier_document_is_no_yardstick_for_the_total_but_is_for_a_price():
    one = History(
        trailing=(Trailing("USD", 1, 200),),
        documents=1,
        max_lines=1,
        prices=(ScopePrices("t:1", "USD", 2_000_000, 2_000_000),),
    )
    draft = Draft("USD", 1800, (Line("t:1", "Auto", (2_000_000,)),))  # 9 leads after a month of 1
    assert held_reasons(draft, one, Bounds()) == []
    typo = Draft("USD", 1800, (Line("t:1", "Auto", (200_000_000,)),))
    assert len(held_reasons(typo, one, Bounds())) == 1
