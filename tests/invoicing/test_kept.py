"""Drafts kept between writes (`invoicing.kept`): a preview from them equals one drafted afresh.

These tests commit (a kept draft is only used outside a transaction, and the tokens that retire it
are written after commit). "Fresh" is the same preview inside a transaction, where nothing kept is
used; "kept" is the preview outside one.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbill.deliveries.models import Delivery
from leadbill.deliveries.services import (
    billing_summary_repair,
    deliveries_import,
    deliveries_receive,
    return_accept,
    return_request,
    returns_import,
)
from leadbill.domain.errors import DomainError
from leadbill.entities.models import Entity
from leadbill.invoicing import kept, services
from leadbill.invoicing.bounds import safety_bounds_set, safety_release
from leadbill.invoicing.models import BilledLead, Invoice, Status
from leadbill.invoicing.selectors import preview_as_dict
from leadbill.invoicing.services import (
    adjustment_create,
    credit_note_issue,
    invoice_discard,
    invoice_issue,
    invoice_run_issue,
    invoice_run_preview,
    invoice_void,
    payment_record,
    topup_record,
)
from leadbill.loader.services import lead_type_put, partner_apply
from leadbill.partners import stamps
from leadbill.partners.models import BillingStamp, Partner
from leadbill.receivables.services import invoice_write_off, payment_reverse
from tests.factories import make_partner, make_plan
from tests.invoicing.test_rollup import MONTHS, SINCE, WINDOW, delivery_rows, world

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = "test:kept"
JANUARY, FEBRUARY, MARCH = MONTHS


def shown(run_preview):
    """Everything the console, the API and the CLI show of a preview, per partner."""
    out = preview_as_dict(run_preview)
    balances = {d.partner.code: (d.opening_balance_minor, d.topups_minor) for d in run_preview.drafts}
    for row in out["partners"]:
        row["opening_balance"], row["topups"] = balances[row["partner"]]
        row["anomalies"] = sorted(row["anomalies"])
    return {"already_invoiced": out["already_invoiced"], **{row["partner"]: row for row in out["partners"]}}


def fresh(entity, period):
    with transaction.atomic():  # inside a transaction nothing kept is used, and nothing is kept
        return shown(invoice_run_preview(entity=entity, period=period))


def preview(entity, period):
    assert not connection.in_atomic_block
    return shown(invoice_run_preview(entity=entity, period=period))


@pytest.fixture
def drafted(monkeypatch):
    """The partner codes each preview drafted again (not taken from the kept drafts)."""
    calls: list[list[str]] = []
    real = services._draft_preview

    def spy(entity, period, todo, *, whole):
        calls.append(sorted(p.code for p in todo))
        return real(entity, period, todo, whole=whole)

    monkeypatch.setattr(services, "_draft_preview", spy)
    return calls


def receive(entity, n, day, partner, *, lead_type="auto", price=None, profile=""):
    rows = delivery_rows(n, day, 15, partner, lead_type, price, "USD", profile)
    deliveries_receive(actor=ACTOR, entity=entity, rows=[{k: v for k, v in r.items() if v != ""} for r in rows])


@pytest.fixture
def billed_january():
    """January delivered and issued for every partner with a plan, February delivered and open."""
    entity, _ = world()
    prepay = make_partner(entity, code="prepay", currency="USD", billing_mode="prepay")
    make_plan(prepay, "flat", {"price": "4.00"}, effective_from=SINCE)
    for partner in ("flat", "tiers", "carried", "prepay"):
        receive(entity, 3, 5, partner, price="1.25")  # carried bills the delivery's price; the others their plan's
        receive(entity, 2, 40, partner, price="1.25")
    Partner.objects.filter(entity=entity, code="flat").update(credit_limit_minor=1_300)
    result = invoice_run_issue(actor=ACTOR, entity=entity, period=JANUARY)
    assert len(result.issued) == 4, result.failures
    return entity


def test_a_second_preview_drafts_nobody_when_nothing_was_written(billed_january, drafted):
    entity = billed_january
    first = preview(entity, FEBRUARY)
    assert preview(entity, FEBRUARY) == first
    assert drafted == [["carried", "flat", "noplan", "prepay", "tiers"]]  # the second drafted nobody
    assert first == fresh(entity, FEBRUARY)


def test_a_delivery_for_one_partner_drafts_that_partner_alone_again(billed_january, drafted):
    entity = billed_january
    before = preview(entity, FEBRUARY)
    receive(entity, 2, 41, "tiers", price="1.25")
    after = preview(entity, FEBRUARY)
    assert drafted == [["carried", "flat", "noplan", "prepay", "tiers"], ["tiers"]]
    assert after == fresh(entity, FEBRUARY)
    assert after["tiers"]["delivered"] == before["tiers"]["delivered"] + 2
    assert after["flat"] == before["flat"]


def _invoice(entity, code):
    return Invoice.objects.get(entity=entity, partner__code=code, kind="invoice", status=Status.ISSUED)


def _return_a_billed_lead(entity):
    lead = BilledLead.objects.filter(invoice__entity=entity, invoice__partner__code="flat").order_by("pk")[0].delivery
    ret = return_request(actor=ACTOR, delivery=lead, reason="bad phone", requested_at=datetime(2026, 2, 3, tzinfo=UTC))
    if ret.status == "requested":
        return_accept(actor=ACTOR, ret=ret)


def _import(entity):
    rows = delivery_rows(3, 42, 15, "carried", "auto", "1.25", "USD")
    header = list(rows[0])
    text = "\n".join([",".join(header), *(",".join(str(r[h]) for h in header) for r in rows)]) + "\n"
    deliveries_import(actor=ACTOR, entity=entity, stream=io.StringIO(text))


def _credit_note(entity):
    _return_a_billed_lead(entity)
    credit_note_issue(actor=ACTOR, partner=Partner.objects.get(entity=entity, code="flat"))


def _partner(entity, code):
    return Partner.objects.get(entity=entity, code=code)


def _void(entity):
    invoice_void(actor=ACTOR, invoice=_invoice(entity, "tiers"), reason="re-bill", leads="rebill")


def _payment(entity):
    payment_record(actor=ACTOR, invoice=_invoice(entity, "flat"), amount_minor=100, paid_on=date(2026, 2, 5))


def _write_off(entity):
    invoice_write_off(actor=ACTOR, invoice=_invoice(entity, "flat"), reason="insolvent")


def _topup(entity):
    topup_record(actor=ACTOR, partner=_partner(entity, "prepay"), amount_minor=5_000,
                 occurred_at=datetime(2026, 2, 10, tzinfo=UTC))  # fmt: skip


def _adjustment(entity):
    adjustment_create(actor=ACTOR, partner=_partner(entity, "carried"), amount_minor=-300, reason="goodwill")


def _new_price(entity):
    make_plan(_partner(entity, "flat"), "flat", {"price": "5.00"}, effective_from=datetime(2026, 2, 1, 5, tzinfo=UTC))


def _tax_rate(entity):
    partner_apply(actor=ACTOR, entity=entity, code="tiers", raw={"tax_rate": 19})


def _safety_limit(entity):
    safety_bounds_set(actor=ACTOR, entity=entity, total_multiple=None, unit_price_multiple=None, limit_minor=500)


# Each changes February's preview, so the comparison below can fail.
WRITES = {
    "an API batch": lambda e: receive(e, 4, 43, "flat", price="1.25"),
    "a file import": _import,
    "a return of a billed lead, accepted": _return_a_billed_lead,
    "a credit note for it": _credit_note,
    "a void of January to re-bill": _void,
    "a payment (under the credit limit again)": _payment,
    "a write-off": _write_off,
    "a top-up of the prepay balance": _topup,
    "a credit adjustment": _adjustment,
    "a new price from February": _new_price,
    "the partner's tax rate": _tax_rate,
    "the entity's safety limit": _safety_limit,
}


@pytest.mark.parametrize("what", list(WRITES))
def test_after_each_kind_of_write_the_kept_preview_is_the_fresh_one(billed_january, what):
    entity = billed_january
    write = WRITES[what]
    before = {period.key: preview(entity, period) for period in (FEBRUARY, MARCH)}
    write(entity)
    for period in (FEBRUARY, MARCH, JANUARY, WINDOW):
        assert preview(entity, period) == fresh(entity, period), period.key
    assert preview(entity, FEBRUARY) != before[FEBRUARY.key]


# More writes (from review), not all of which change February: after each, kept is still fresh.
def _caps_exclude(entity):
    partner_apply(actor=ACTOR, entity=entity, code="flat", raw={"caps": {"daily": 1, "policy": "exclude"}})


def _caps_priced(entity):
    partner_apply(actor=ACTOR, entity=entity, code="tiers",
                  raw={"caps": {"daily": 1, "policy": "price", "over_cap_price": "0.10"}})  # fmt: skip


def _no_longer_a_buyer(entity):
    partner_apply(actor=ACTOR, entity=entity, code="tiers", raw={"roles": ["supplier"]})


def _lead_type_renamed(entity):
    lead_type_put(actor=ACTOR, entity=entity, code="home", name="Houses")


def _void_to_cancel(entity):
    invoice_void(actor=ACTOR, invoice=_invoice(entity, "tiers"), reason="cancelled", leads="cancel")


def _draft_run_then_discard(entity):
    invoice_run_issue(actor=ACTOR, entity=entity, period=FEBRUARY, draft=True, allow_open_period=True)
    for draft in Invoice.objects.filter(entity=entity, status=Status.DRAFT, partner__code="flat"):
        invoice_discard(actor=ACTOR, invoice=draft)


def _draft_issued(entity):
    invoice_run_issue(actor=ACTOR, entity=entity, period=FEBRUARY, draft=True, allow_open_period=True)
    invoice_issue(actor=ACTOR, invoice=Invoice.objects.get(entity=entity, status=Status.DRAFT, partner__code="flat"))


def _payment_reversed(entity):
    invoice = _invoice(entity, "flat")
    payment = payment_record(actor=ACTOR, invoice=invoice, amount_minor=invoice.total_minor + 500,
                             paid_on=date(2026, 2, 5))  # fmt: skip
    payment_reverse(actor=ACTOR, payment=payment, reason="bounced")


def _returns_file(entity):
    lead = BilledLead.objects.filter(invoice__entity=entity, invoice__partner__code="tiers").order_by("pk")[0].delivery
    text = f"external_id,reason,requested_at,status\n{lead.external_id},bad,2026-02-03T00:00:00Z,accepted\n"
    returns_import(actor=ACTOR, entity=entity, stream=io.StringIO(text))


def _summary_repaired(entity):
    billing_summary_repair(actor=ACTOR, entity=entity)


def _released(entity):
    _safety_limit(entity)
    preview(Entity.objects.get(pk=entity.pk), FEBRUARY)  # kept under the new entity token, then released
    safety_release(actor=ACTOR, entity=Entity.objects.get(pk=entity.pk), partner=_partner(entity, "flat"),
                   period=FEBRUARY, reason="checked with the buyer")  # fmt: skip


MORE_WRITES = {fn.__name__.strip("_").replace("_", " "): fn for fn in (
    _caps_exclude, _caps_priced, _no_longer_a_buyer, _lead_type_renamed, _void_to_cancel, _draft_run_then_discard,
    _draft_issued, _payment_reversed, _returns_file, _summary_repaired, _released,
)}  # fmt: skip


@pytest.mark.parametrize("what", list(MORE_WRITES))
def test_after_more_kinds_of_write_the_kept_preview_is_still_the_fresh_one(billed_january, what):
    entity = billed_january
    for period in (FEBRUARY, MARCH, JANUARY, WINDOW):
        preview(entity, period)
    MORE_WRITES[what](entity)
    entity = Entity.objects.get(pk=entity.pk)
    for period in (FEBRUARY, MARCH, JANUARY, WINDOW):
        assert preview(entity, period) == fresh(entity, period), period.key


def test_a_write_rolled_back_leaves_the_kept_drafts_in_use(billed_january, drafted):
    entity = billed_january
    before = preview(entity, FEBRUARY)

    def failing_request():
        with transaction.atomic():
            receive(entity, 5, 44, "flat")
            raise RuntimeError("the request failed after the write")

    with pytest.raises(RuntimeError):
        failing_request()
    assert preview(entity, FEBRUARY) == before
    assert len(drafted) == 1  # the kept preview after the rollback drafted nobody
    assert before == fresh(entity, FEBRUARY)


def test_inside_a_transaction_nothing_is_kept(billed_january, drafted):
    entity = billed_january
    with transaction.atomic():
        invoice_run_preview(entity=entity, period=FEBRUARY)
        invoice_run_preview(entity=entity, period=FEBRUARY)
    assert kept._books == {}
    assert len(drafted) == 2 and all(drafted)


def test_kept_drafts_expire(billed_january, drafted, monkeypatch, settings):
    entity = billed_january
    settings.LEADBILL_KEEP_DRAFTS_SECONDS = 60
    clock = iter([1000.0, 1030.0, 1061.0])
    monkeypatch.setattr(kept, "_clock", lambda: next(clock))
    for _ in range(3):
        preview(entity, FEBRUARY)
    assert len(drafted) == 2  # the first and the third; the second, 30 s on, used what the first kept


def test_keeping_can_be_switched_off(billed_january, drafted, settings):
    settings.LEADBILL_KEEP_DRAFTS_SECONDS = 0
    preview(billed_january, FEBRUARY)
    preview(billed_january, FEBRUARY)
    assert all(drafted) and len(drafted) == 2


def test_a_write_committed_while_a_preview_reads_is_drafted_again_by_the_next(billed_january, drafted, monkeypatch):
    """The tokens are read before the data: a write landing in between leaves a draft newer than its
    token, which the next preview drafts again; never a draft older than its token."""
    entity = billed_january
    real = stamps.tokens

    def then_a_write(entity_id):
        read = real(entity_id)
        monkeypatch.setattr(stamps, "tokens", real)
        receive(entity, 2, 45, "carried", price="1.25")  # commits after the tokens were read, before the data is
        return read

    monkeypatch.setattr(stamps, "tokens", then_a_write)
    assert preview(entity, FEBRUARY)["carried"]["delivered"] == 4  # drafted from the data, after the write
    assert preview(entity, FEBRUARY) == fresh(entity, FEBRUARY)
    assert drafted[1] == ["carried"]  # its draft was kept under the token from before the write: drafted again


def test_the_kept_drafts_per_process_are_bounded_least_recently_used_first(billed_january, settings):
    settings.LEADBILL_KEEP_DRAFTS_MAX = 6  # five buyers a month: the second month's book pushes the first out
    for period in (JANUARY, FEBRUARY, MARCH):
        preview(billed_january, period)
    assert [key for _, key in kept._books] == [kept._book_key(MARCH)]
    settings.LEADBILL_KEEP_DRAFTS_MAX = 10
    preview(billed_january, FEBRUARY)
    assert [key for _, key in kept._books] == [kept._book_key(MARCH), kept._book_key(FEBRUARY)]


def test_an_entity_wide_write_drafts_every_partner_again(billed_january, drafted):
    entity = billed_january
    preview(entity, FEBRUARY)
    safety_bounds_set(actor=ACTOR, entity=entity, total_multiple=None, unit_price_multiple=None, limit_minor=10**9)
    preview(entity, FEBRUARY)
    assert drafted[-1] == ["carried", "flat", "noplan", "prepay", "tiers"]
    assert BillingStamp.objects.filter(entity_id=entity.pk, partner_id=0).exists()


other_step = st.tuples(
    st.sampled_from(["return", "issue", "void", "payment", "adjustment", "plan", "preview"]), st.integers(0, 50)
)
deliveries_step = st.tuples(
    st.just("api"),
    st.integers(1, 4),
    st.integers(0, 88),
    st.sampled_from(["flat", "tiers", "carried"]),
    st.sampled_from([None, "1.25", "7"]),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(deliveries_step, other_step), min_size=2, max_size=8))
def test_after_any_interleaving_of_writes_the_kept_previews_are_the_fresh_ones(steps):
    kept.clear()
    entity, _ = world()
    for period in MONTHS:
        preview(entity, period)
    for step in steps:
        kind, k = step[0], step[1]
        partners = list(Partner.objects.filter(entity=entity).order_by("code"))
        if kind == "api":
            _, n, day, partner, price = step
            receive(entity, n, day, partner, price=price)
        elif kind == "return":
            leads = list(Delivery.objects.filter(entity=entity).order_by("pk"))
            if leads:
                try:
                    ret = return_request(actor=ACTOR, delivery=leads[k % len(leads)], reason="bad phone",
                                         requested_at=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip
                    if ret.status == "requested":
                        return_accept(actor=ACTOR, ret=ret)
                except DomainError:
                    pass  # the partner's return policy refused it
        elif kind == "issue":
            invoice_run_issue(actor=ACTOR, entity=entity, period=MONTHS[k % 3])
        elif kind == "void":
            issued = list(Invoice.objects.filter(entity=entity, kind="invoice", status=Status.ISSUED).order_by("pk"))
            if issued:
                invoice_void(actor=ACTOR, invoice=issued[k % len(issued)], reason="re-bill", leads="rebill")
        elif kind == "payment":
            issued = list(Invoice.objects.filter(entity=entity, kind="invoice", status=Status.ISSUED).order_by("pk"))
            if issued:
                payment_record(actor=ACTOR, invoice=issued[k % len(issued)], amount_minor=50, paid_on=date(2026, 4, 1))
        elif kind == "adjustment":
            adjustment_create(
                actor=ACTOR, partner=partners[k % len(partners)], amount_minor=-(k + 1), reason="goodwill"
            )
        elif kind == "plan":
            make_plan(partners[k % len(partners)], "flat", {"price": f"{k % 5 + 1}.25"},
                      effective_from=datetime(2026, 1 + k % 3, 1, 5, tzinfo=UTC))  # fmt: skip
        else:
            preview(entity, MONTHS[k % 3])  # a preview in between keeps drafts the next steps must retire
        for period in MONTHS:
            assert preview(entity, period) == fresh(entity, period), (step, period.key)


def test_an_entity_read_before_an_entity_write_does_not_draft_what_is_kept_under_the_new_token(billed_january):
    """A request loads its entity, another commits a new safety limit, then the first previews: its drafts
    are kept under the new entity token, so they must come from the entity as it now is."""
    entity = billed_january
    loaded_early = Entity.objects.get(pk=entity.pk)
    _safety_limit(Entity.objects.get(pk=entity.pk))
    assert preview(loaded_early, FEBRUARY) == fresh(Entity.objects.get(pk=entity.pk), FEBRUARY)
    assert preview(Entity.objects.get(pk=entity.pk), FEBRUARY)["flat"]["held"]
