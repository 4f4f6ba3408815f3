"""The billing summary is kept by every write that changes what it counts, and `leadbill verify` checks it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from leadbill.cli.main import main
from leadbill.deliveries import summary
from leadbill.deliveries.models import BillingSummary, Delivery, RepeatSummary
from leadbill.deliveries.services import (
    billing_summary_repair,
    deliveries_import,
    deliveries_receive,
    delivery_record,
    return_accept,
    return_request,
)
from leadbill.domain import periods
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import invoice_discard, invoice_run_issue, invoice_void
from tests.deliveries.conftest import csv_file
from tests.factories import make_entity, make_lead_type, make_partner, make_plan

pytestmark = pytest.mark.django_db
ACTOR = "test:summary"


@pytest.fixture
def ny(db):
    """An entity whose local days are not UTC days."""
    entity = make_entity(slug="ny", timezone="America/New_York", currency="USD")
    buyer = make_partner(entity, code="buyer", currency="USD")
    make_lead_type(entity, "auto")
    make_plan(buyer, "flat", {"price": "2.50"})
    return entity, buyer


def rows(entity):
    """(partner, day) -> (open, billed, returned, excluded) leads and the billed amount."""
    return {
        (r.partner_id, r.day): (r.open_leads, r.billed_leads, r.returned_leads, r.excluded_leads, r.billed_minor)
        for r in BillingSummary.objects.filter(entity=entity)
        if r.leads
    }


def imported(entity, *lines):
    with_profile = [",".join([*line.split(",")[:2], "", *line.split(",")[2:]]) for line in lines]  # no profile
    result = deliveries_import(actor=ACTOR, entity=entity, stream=csv_file(*with_profile))
    assert result.error_count == 0, [str(e) for e in result.errors]
    return result


def test_an_import_counts_its_deliveries_on_their_local_day_in_the_same_transaction(ny):
    entity, _ = ny
    imported(entity, "d1,buyer,auto,L1,2026-01-05T03:00:00Z,1.25,USD",  # 22:00 on the 4th in New York
             "d2,buyer,auto,L2,2026-01-05T15:00:00Z,,USD", "d3,buyer,auto,L3,2026-01-05T16:00:00Z,0.75,EUR")  # fmt: skip
    usd = {
        r.day: (r.leads, r.open_leads, r.open_priced, r.open_price_micros)
        for r in BillingSummary.objects.filter(currency="USD")
    }
    assert usd == {date(2026, 1, 4): (1, 1, 1, 1_250_000), date(2026, 1, 5): (1, 1, 0, 0)}
    eur = BillingSummary.objects.get(entity=entity, currency="EUR")
    assert (eur.day, eur.leads, eur.open_price_micros) == (date(2026, 1, 5), 1, 750_000)
    assert summary.drift(entity.pk, entity.timezone) == []


def test_reimporting_the_same_file_counts_nothing_twice(ny):
    entity, buyer = ny
    lines = ("d1,buyer,auto,L1,2026-01-05T15:00:00Z,,USD", "d2,buyer,auto,L2,2026-01-05T16:00:00Z,,USD")
    imported(entity, *lines)
    imported(entity, *lines)
    assert rows(entity) == {(buyer.pk, date(2026, 1, 5)): (2, 0, 0, 0, 0)}


def test_the_api_batch_and_a_single_delivery_are_counted_too(ny):
    entity, buyer = ny
    deliveries_receive(actor=ACTOR, entity=entity, rows=[
        {"external_id": "a1", "partner": "buyer", "lead_type": "auto", "lead_id": "L1",
         "delivered_at": "2026-01-06T12:00:00Z", "currency": "USD"},
    ])  # fmt: skip
    delivery_record(actor=ACTOR, entity=entity, external_id="s1", partner="buyer", lead_type="auto", lead_id="L2",
                    delivered_at=datetime(2026, 1, 6, 13, tzinfo=UTC), currency="USD")  # fmt: skip
    delivery_record(
        actor=ACTOR,
        entity=entity,
        external_id="s1",
        partner="buyer",
        lead_type="auto",
        lead_id="L2",
        delivered_at=datetime(2026, 1, 6, 13, tzinfo=UTC),
        currency="USD",
    )  # fmt: skip  (replayed)
    assert rows(entity) == {(buyer.pk, date(2026, 1, 6)): (2, 0, 0, 0, 0)}
    assert summary.drift(entity.pk, entity.timezone) == []


def test_a_lead_delivered_again_to_the_same_partner_is_counted_as_a_repeat_on_its_day(ny):
    entity, _ = ny
    imported(entity, "d1,buyer,auto,SAME,2026-01-05T15:00:00Z,,USD", "d2,buyer,auto,SAME,2026-01-07T15:00:00Z,,USD",
             "d3,buyer,auto,OTHER,2026-01-07T16:00:00Z,,USD")  # fmt: skip
    imported(entity, "d4,buyer,auto,SAME,2026-01-08T15:00:00Z,,USD")
    repeats = {(r.day, r.repeats) for r in RepeatSummary.objects.filter(entity=entity)}
    assert repeats == {(date(2026, 1, 7), 1), (date(2026, 1, 8), 1)}
    assert summary.drift(entity.pk, entity.timezone) == []


def test_accepting_a_return_moves_an_unbilled_lead_to_returned(ny):
    entity, buyer = ny
    imported(entity, "d1,buyer,auto,L1,2026-01-05T15:00:00Z,,USD", "d2,buyer,auto,L2,2026-01-05T16:00:00Z,,USD")
    ret = return_request(actor=ACTOR, delivery=Delivery.objects.get(external_id="d1"), reason="bad phone")
    assert rows(entity)[(buyer.pk, date(2026, 1, 5))][0] == 2  # requested, not yet returned
    return_accept(actor=ACTOR, ret=ret)
    assert rows(entity) == {(buyer.pk, date(2026, 1, 5)): (1, 0, 1, 0, 0)}


def test_issue_moves_leads_to_billed_with_their_amounts_and_void_or_discard_moves_them_back(ny):
    entity, _ = ny
    imported(entity, "d1,buyer,auto,L1,2026-01-05T15:00:00Z,,USD", "d2,buyer,auto,L2,2026-01-20T16:00:00Z,,USD")
    jan = periods.month(2026, 1, entity.timezone)
    (inv,) = invoice_run_issue(actor=ACTOR, entity=entity, period=jan).issued
    assert sum(v[1] for v in rows(entity).values()) == 2
    assert sum(v[4] for v in rows(entity).values()) == inv.subtotal_minor == 500
    assert sum(v[0] for v in rows(entity).values()) == 0
    invoice_void(actor=ACTOR, invoice=inv, reason="wrong price", leads="rebill")
    assert [v[:2] for v in rows(entity).values()] == [(1, 0), (1, 0)]
    (draft,) = invoice_run_issue(actor=ACTOR, entity=entity, period=jan, draft=True).issued
    assert [v[:2] for v in rows(entity).values()] == [(0, 1), (0, 1)]
    invoice_discard(actor=ACTOR, invoice=draft)
    assert [v[:2] for v in rows(entity).values()] == [(1, 0), (1, 0)]
    assert summary.drift(entity.pk, entity.timezone) == []
    assert Invoice.objects.filter(status="void").count() == 1


def test_a_new_time_zone_counts_the_days_again(ny):
    from leadbill.deliveries.summary import rebuild

    entity, buyer = ny
    imported(entity, "d1,buyer,auto,L1,2026-01-05T03:00:00Z,,USD")
    entity.timezone = "UTC"
    entity.save(update_fields=["timezone"])
    assert summary.drift(entity.pk, "UTC") != []  # the days moved
    rebuild(entity.pk, "UTC")
    assert rows(entity) == {(buyer.pk, date(2026, 1, 5)): (1, 0, 0, 0, 0)}


def test_verify_reports_drift_names_the_row_and_repair_recounts_it_audited(ny, capsys):
    from leadbill.audit.models import AuditEvent

    entity, buyer = ny
    imported(entity, "d1,buyer,auto,L1,2026-01-05T15:00:00Z,,USD")
    assert main(["verify", "--entity", "ny"]) == 0
    assert "agrees" in capsys.readouterr().out
    BillingSummary.objects.filter(entity=entity).update(open_leads=7)  # a write that bypassed the services
    assert main(["verify", "--entity", "ny"]) == 1
    out = capsys.readouterr().out
    assert f"partner {buyer.pk}" in out and "2026-01-05" in out and "open_leads 7 != 1" in out
    found = billing_summary_repair(actor=ACTOR, entity=entity)
    assert len(found) == 1
    assert AuditEvent.objects.filter(action="billing_summary.repaired").count() == 1
    assert summary.drift(entity.pk, entity.timezone) == []
    assert main(["verify", "--entity", "ny", "--json"]) == 0
