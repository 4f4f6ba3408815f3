"""A partner's cap policy applied by the run: flag, exclude over-cap leads, or price them apart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from leadbill.documents.report import ReportQuery, leads
from leadbill.invoicing.models import BilledLead, ExcludedLead, Invoice
from leadbill.invoicing.selectors import preview_as_dict
from leadbill.invoicing.services import invoice_run_preview, invoice_void
from tests.factories import make_deliveries, make_plan
from tests.invoicing.helpers import ACTOR, billed_sum, issue, lines_of

pytestmark = pytest.mark.django_db

DAY_1 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY_2 = datetime(2026, 1, 6, 9, tzinfo=UTC)


def capped(buyer, policy, **kw):
    buyer.cap_daily = 3
    buyer.cap_policy = policy
    for name, value in kw.items():
        setattr(buyer, name, value)
    buyer.save()
    make_plan(buyer, "flat", {"price": "2.00"})
    make_deliveries(buyer, 5, DAY_1)  # 2 over the daily cap
    make_deliveries(buyer, 4, DAY_2)  # 1 over


def test_flag_policy_bills_every_lead_and_flags_the_overage(entity, buyer, jan):
    capped(buyer, "flag")
    preview = preview_as_dict(invoice_run_preview(entity=entity, period=jan))
    (row,) = preview["partners"]
    assert row["billable"] == 9 and row["total"] == "18.00"
    assert any("over cap on 2026-01-05" in a for a in row["anomalies"])


def test_exclude_policy_leaves_over_cap_leads_out_and_the_preview_says_how_many_and_how_much(entity, buyer, jan):
    capped(buyer, "exclude")
    preview = preview_as_dict(invoice_run_preview(entity=entity, period=jan))
    (row,) = preview["partners"]
    assert row["billable"] == 6 and row["total"] == "12.00"
    assert row["cap_effect"] == {"policy": "exclude", "leads": 3, "amount": "-6.00", "price": None}
    assert "3 leads over cap left out (6.00 USD not billed)" in row["anomalies"]
    assert not any("over cap on" in a for a in row["anomalies"])  # the effect replaces the flags

    (inv,) = issue(entity, jan).issued
    assert inv.leads_billed == 6 and inv.subtotal_minor == 1_200
    excluded = ExcludedLead.objects.filter(invoice=inv)
    assert excluded.count() == 3
    # delivery order decides: the 4th and 5th lead of day 1 and the 4th of day 2
    assert sorted(e.delivery.delivered_at for e in excluded) == [
        DAY_1 + timedelta(minutes=3), DAY_1 + timedelta(minutes=4), DAY_2 + timedelta(minutes=3),
    ]  # fmt: skip
    assert not BilledLead.objects.filter(delivery_id__in=excluded.values("delivery_id")).exists()


def test_excluded_leads_are_not_billed_later_as_late_leads_unless_the_invoice_is_voided_to_rebill(
    entity, buyer, jan, feb
):
    capped(buyer, "exclude")
    (inv,) = issue(entity, jan).issued
    make_deliveries(buyer, 1, datetime(2026, 2, 2, tzinfo=UTC))
    (february,) = issue(entity, feb).issued
    assert february.leads_billed == 1  # the three excluded leads stay out
    invoice_void(actor=ACTOR, invoice=inv, reason="cap lifted for January", leads="rebill")
    assert not ExcludedLead.objects.filter(voided=False).exists()
    buyer.cap_policy = "flag"
    buyer.save()
    rebilled = issue(entity, jan).issued
    assert rebilled[0].leads_billed == 9


def test_price_policy_bills_over_cap_leads_on_their_own_line_at_the_over_cap_price(entity, buyer, jan):
    capped(buyer, "price", over_cap_price_micros=500_000)
    preview = preview_as_dict(invoice_run_preview(entity=entity, period=jan))
    (row,) = preview["partners"]
    assert row["total"] == "13.50"
    assert row["cap_effect"] == {"policy": "price", "leads": 3, "amount": "-4.50", "price": "0.50"}
    (inv,) = issue(entity, jan).issued
    assert lines_of(inv) == [("charge", 6, 1_200), ("charge", 3, 150)]
    over_line = inv.lines.get(position=2)
    assert over_line.description.startswith("Over cap: ") and over_line.unit_price_micros == 500_000
    assert billed_sum(inv) == inv.subtotal_minor
    assert sorted(BilledLead.objects.filter(line=over_line).values_list("amount_minor", flat=True)) == [50, 50, 50]


def test_leads_billed_within_cap_on_an_earlier_invoice_take_the_weeks_room_first(entity, buyer, jan, feb):
    buyer.cap_weekly, buyer.cap_policy = 4, "exclude"
    buyer.save()
    make_plan(buyer, "flat", {"price": "1.00"})
    make_deliveries(buyer, 3, datetime(2026, 1, 30, tzinfo=UTC))  # Friday of the week of 26 January
    make_deliveries(buyer, 3, datetime(2026, 2, 1, tzinfo=UTC))  # its Sunday, in February
    assert issue(entity, jan).issued[0].leads_billed == 3
    (february,) = issue(entity, feb).issued
    assert february.leads_billed == 1 and ExcludedLead.objects.filter(invoice=february).count() == 2


def test_the_invoice_report_says_which_leads_were_excluded_or_repriced(entity, buyer, jan):
    capped(buyer, "exclude")
    (inv,) = issue(entity, jan).issued
    rows = list(leads(ReportQuery(buyer, date(2026, 1, 1), date(2026, 1, 31))))
    assert [r.cap for r in rows].count(f"excluded over cap on {inv.number}") == 3
    assert all(r.billed_minor is None for r in rows if r.cap)


def test_the_invoice_report_marks_repriced_leads(entity, buyer, jan):
    capped(buyer, "price", over_cap_price_micros=500_000)
    issue(entity, jan)
    rows = list(leads(ReportQuery(buyer, date(2026, 1, 1), date(2026, 1, 31))))
    assert [(r.billed_minor, r.cap) for r in rows if r.cap] == [(50, "over-cap price")] * 3
    assert Invoice.objects.count() == 1


def test_a_discarded_draft_frees_the_leads_it_left_out(entity, buyer, jan):
    from leadbill.invoicing.services import invoice_discard

    capped(buyer, "exclude")
    (draft,) = issue(entity, jan, draft=True).issued
    assert ExcludedLead.objects.filter(invoice=draft).count() == 3
    invoice_discard(actor=ACTOR, invoice=draft)
    assert not ExcludedLead.objects.exists()
    assert issue(entity, jan).issued[0].leads_billed == 6  # decided again: the same three left out


def test_the_report_csv_names_the_excluded_leads_on_either_database(entity, buyer, jan):
    from leadbill.documents.report import csv_chunks

    capped(buyer, "exclude")
    (inv,) = issue(entity, jan).issued
    text = b"".join(csv_chunks(ReportQuery(buyer, date(2026, 1, 1), date(2026, 1, 31)))).decode()
    header, *rows = text.splitlines()
    assert header.endswith(",cap")
    assert sum(row.endswith(f",excluded over cap on {inv.number}") for row in rows) == 3
    assert sum(row.endswith(",") for row in rows) == 6
