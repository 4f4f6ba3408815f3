"""Previews read from the billing summary agree with previews read from every delivery, and with what is issued.

The property test interleaves imports, API batches, returns, issue, drafts, voids (to re-bill)
and discards; after every step the summary equals a recount from the deliveries, and each
month's preview from the summary equals the same preview computed from the deliveries.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbill.deliveries import summary
from leadbill.deliveries.models import Delivery
from leadbill.deliveries.services import deliveries_import, deliveries_receive, return_accept, return_request
from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.invoicing import rollup
from leadbill.invoicing.models import Invoice, Status
from leadbill.invoicing.selectors import money, preview_as_dict
from leadbill.invoicing.services import invoice_discard, invoice_run_issue, invoice_run_preview, invoice_void
from tests.factories import TIERS_2_150_1, make_entity, make_lead_type, make_partner, make_plan, make_profile

ACTOR = "test:rollup"
TZ = "America/New_York"
MONTHS = [periods.month(2026, m, TZ) for m in (1, 2, 3)]
SINCE = datetime(2025, 6, 1, 4, tzinfo=UTC)  # midnight in New York


def world():
    entity = make_entity(timezone=TZ, currency="USD")
    auto, home = make_lead_type(entity, "auto"), make_lead_type(entity, "home")
    flat = make_partner(entity, code="flat", currency="USD")
    make_plan(flat, "flat", {"price": "2.50"}, effective_from=SINCE)
    make_plan(flat, "flat", {"price": "3.10"}, effective_from=datetime(2026, 2, 1, 5, tzinfo=UTC))  # NY midnight
    make_plan(flat, "flat", {"price": "2.90"}, effective_from=datetime(2026, 3, 15, 4, tzinfo=UTC))  # inside March
    tiers = make_partner(entity, code="tiers", currency="USD")
    make_plan(tiers, "graduated", {"tiers": TIERS_2_150_1}, effective_from=SINCE)
    make_plan(tiers, "flat", {"price": "9.99"}, lead_type=home, effective_from=SINCE)
    carried = make_partner(entity, code="carried", currency="USD")
    make_plan(carried, "delivered", {}, effective_from=SINCE)
    web = make_profile(carried, code="web")
    make_plan(carried, "volume", {"tiers": TIERS_2_150_1}, profile=web, effective_from=SINCE)
    make_partner(entity, code="noplan", currency="USD")
    return entity, (auto, home)


def comparable(preview) -> dict[str, dict[str, object]]:
    out = {}
    for row in preview_as_dict(preview)["partners"]:
        kept = {
            k: row[k] for k in ("delivered", "returned", "billable", "late", "subtotal", "tax", "total", "document")
        }
        kept["anomalies"] = sorted(row["anomalies"])
        out[row["partner"]] = kept
    return out


def activity_from_deliveries(entity_id, period, partner_ids, facts):
    """Delivered, returned and repeated leads counted from the deliveries of the whole period."""
    from django.db import connection

    from leadbill.invoicing import facts as f

    with connection.cursor() as cursor:
        cursor.execute(rollup._activity_sql(f.partners_clause(partner_ids)),
                       [entity_id, f._dt(period.start), f._dt(period.end)])  # fmt: skip
        for partner_id, delivered, returned, repeats in cursor.fetchall():
            pf = facts.setdefault(partner_id, f.PartnerFacts(partner_id))
            pf.delivered, pf.returned_unbilled, pf.duplicate_leads = delivered, returned or 0, repeats or 0


def from_deliveries(entity, period, monkeypatch):
    """The same preview, every fact read from the deliveries (the summary is not used)."""
    with monkeypatch.context() as patch:
        patch.setattr(rollup, "gather_groups", lambda entity_id, period, partners, whole: ({}, list(partners)))
        patch.setattr(rollup, "gather_activity", activity_from_deliveries)
        patch.setattr(rollup, "aligned", lambda period: False)  # cap counts per day from the deliveries
        return invoice_run_preview(entity=entity, period=period)


WINDOW = periods.window(date(2026, 1, 9), 18 * 60, date(2026, 1, 16), 18 * 60, TZ)  # Friday 18:00 to Friday 18:00


def assert_summary_agrees(entity, monkeypatch):
    assert summary.drift(entity.pk, entity.timezone) == []
    for period in [*MONTHS, WINDOW]:
        assert comparable(invoice_run_preview(entity=entity, period=period)) == comparable(
            from_deliveries(entity, period, monkeypatch)
        ), period.key


_seq = iter(range(10**9))


def delivery_rows(n, day, hour, partner, lead_type, price, currency, profile=""):
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)
    rows = []
    for _ in range(n):
        k = next(_seq)
        rows.append({"external_id": f"x{k}", "partner": partner, "profile": profile, "lead_type": lead_type,
                     "lead_id": f"L{k % 7}", "delivered_at": at.isoformat(), "price": price or "",
                     "currency": currency})  # fmt: skip
        at += timedelta(minutes=17)
    return rows


deliveries_step = st.tuples(
    st.sampled_from(["import", "api"]),
    st.integers(1, 6),  # leads
    st.integers(0, 88),  # day after 1 January (into March)
    st.integers(0, 23),  # hour (UTC): New York days differ
    st.sampled_from([("flat", ""), ("tiers", ""), ("carried", ""), ("carried", "web"), ("noplan", "")]),
    st.sampled_from(["auto", "home"]),
    st.sampled_from([None, "1.25", "0.333333", "7"]),
    st.sampled_from(["USD", "USD", "USD", "EUR"]),
)
other_step = st.tuples(st.sampled_from(["return", "issue", "draft", "void", "discard"]), st.integers(0, 50))


@pytest.mark.django_db
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(deliveries_step, other_step), min_size=2, max_size=7))
def test_after_any_interleaving_the_summary_equals_a_recount_and_previews_agree(steps, monkeypatch):
    entity, _ = world()
    for step in steps:
        kind = step[0]
        if kind in ("import", "api"):
            _, n, day, hour, (partner, profile), lead_type, price, currency = step
            rows = delivery_rows(n, day, hour, partner, lead_type, price, currency, profile)
            if kind == "import":
                header = list(rows[0])
                text = "\n".join([",".join(header), *(",".join(str(r[h]) for h in header) for r in rows)]) + "\n"
                deliveries_import(actor=ACTOR, entity=entity, stream=io.StringIO(text))
            else:
                deliveries_receive(actor=ACTOR, entity=entity, rows=[{k: v for k, v in r.items() if v != ""}
                                                                     for r in rows])  # fmt: skip
        elif kind == "return":
            leads = list(Delivery.objects.filter(entity=entity).order_by("pk"))
            if leads:
                try:
                    ret = return_request(actor=ACTOR, delivery=leads[step[1] % len(leads)], reason="bad phone",
                                         requested_at=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip
                    if ret.status == "requested":
                        return_accept(actor=ACTOR, ret=ret)
                except DomainError:
                    pass  # the partner's return policy refused it
        elif kind in ("issue", "draft"):
            invoice_run_issue(actor=ACTOR, entity=entity, period=MONTHS[step[1] % 3], draft=kind == "draft")
        elif kind == "void":
            issued = list(Invoice.objects.filter(entity=entity, kind="invoice", status=Status.ISSUED).order_by("pk"))
            if issued:
                invoice_void(actor=ACTOR, invoice=issued[step[1] % len(issued)], reason="re-bill", leads="rebill")
        else:
            drafts = list(Invoice.objects.filter(entity=entity, status=Status.DRAFT).order_by("pk"))
            if drafts:
                invoice_discard(actor=ACTOR, invoice=drafts[step[1] % len(drafts)])
        assert summary.drift(entity.pk, entity.timezone) == [], step
    assert_summary_agrees(entity, monkeypatch)


@pytest.mark.django_db
def test_a_preview_from_the_summary_is_what_the_run_then_issues_to_the_cent(monkeypatch):
    entity, _ = world()
    rows = []
    for day in range(0, 31, 3):
        for partner, profile in (("flat", ""), ("tiers", ""), ("carried", ""), ("carried", "web")):
            rows += delivery_rows(5, day, day % 24, partner, "auto", "0.333333" if partner == "carried" else None,
                                  "USD", profile)  # fmt: skip
    deliveries_receive(actor=ACTOR, entity=entity, rows=[{k: v for k, v in r.items() if v != ""} for r in rows])
    jan = MONTHS[0]
    preview = {
        row["partner"]: row for row in preview_as_dict(invoice_run_preview(entity=entity, period=jan))["partners"]
    }
    assert comparable(invoice_run_preview(entity=entity, period=jan)) == comparable(
        from_deliveries(entity, jan, monkeypatch)
    )
    issued = invoice_run_issue(actor=ACTOR, entity=entity, period=jan).issued
    assert {inv.partner.code: money(inv.total_minor, inv.currency) for inv in issued} == {
        code: row["total"] for code, row in preview.items() if row["document"]
    }
    carried = next(inv for inv in issued if inv.partner.code == "carried")
    assert carried.lines.count() >= 2  # the issued document breaks the delivered prices down; same total


@pytest.mark.django_db
def test_a_plan_starting_inside_a_day_is_read_from_the_deliveries_and_still_agrees(monkeypatch):
    entity, _ = world()
    flat = entity.partners.get(code="tiers")
    make_plan(flat, "flat", {"price": "4.00"}, effective_from=datetime(2026, 1, 10, 17, tzinfo=UTC))  # noon in NY
    rows = delivery_rows(6, 9, 14, "tiers", "auto", None, "USD") + delivery_rows(4, 14, 3, "flat", "auto", None, "USD")
    deliveries_receive(actor=ACTOR, entity=entity, rows=[{k: v for k, v in r.items() if v != ""} for r in rows])
    jan = MONTHS[0]
    _, detail = rollup.gather_groups(entity.pk, jan, list(entity.partners.filter(is_buyer=True)), whole=True)
    assert [p.code for p in detail] == ["tiers"]
    assert comparable(invoice_run_preview(entity=entity, period=jan)) == comparable(
        from_deliveries(entity, jan, monkeypatch)
    )


@pytest.mark.django_db
def test_a_plan_turning_at_midnight_inside_the_period_bills_each_day_at_its_version(monkeypatch):
    entity, _ = world()
    rows = delivery_rows(4, 70, 15, "flat", "auto", None, "USD") + delivery_rows(3, 80, 15, "flat", "auto", None, "USD")
    rows += delivery_rows(2, 75, 15, "tiers", "auto", None, "USD")
    deliveries_receive(actor=ACTOR, entity=entity, rows=[{k: v for k, v in r.items() if v != ""} for r in rows])
    march = MONTHS[2]
    preview = comparable(invoice_run_preview(entity=entity, period=march))
    assert preview == comparable(from_deliveries(entity, march, monkeypatch))
    # 4 leads on 12 March at 3.10 and 3 on 22 March at 2.90, the version of each day
    assert preview["flat"]["subtotal"] == money(4 * 310 + 3 * 290, "USD")
    issued = invoice_run_issue(actor=ACTOR, entity=entity, period=march).issued
    assert {inv.partner.code: money(inv.total_minor, inv.currency) for inv in issued} == {
        code: row["total"] for code, row in preview.items() if row["document"]
    }


@pytest.mark.django_db
def test_old_leads_no_run_can_bill_do_not_hold_back_where_a_run_starts_until_a_plan_covers_them(monkeypatch):
    from leadbill.invoicing import facts as f

    entity, _ = world()
    old = [
        {**r, "delivered_at": "2025-09-10T15:00:00+00:00"}
        for r in delivery_rows(2, 0, 0, "noplan", "auto", None, "USD")
    ]
    old += [
        {**r, "delivered_at": "2025-09-11T15:00:00+00:00"}
        for r in delivery_rows(1, 0, 0, "carried", "auto", None, "USD")
    ]
    rows = old + delivery_rows(3, 5, 15, "flat", "auto", None, "USD")
    deliveries_receive(actor=ACTOR, entity=entity, rows=[{k: v for k, v in r.items() if v != ""} for r in rows])
    jan = MONTHS[0]
    # No plan for "noplan", a delivered-price plan and no price for "carried": open, but not billable.
    assert f.open_since(entity.pk, jan, None) == jan.start
    assert comparable(invoice_run_preview(entity=entity, period=jan)) == comparable(
        from_deliveries(entity, jan, monkeypatch)
    )
    # A plan starting before them makes the "noplan" leads billable: the run reaches back and bills them late.
    noplan = entity.partners.get(code="noplan")
    make_plan(noplan, "flat", {"price": "1.00"}, effective_from=SINCE)
    assert f.open_since(entity.pk, jan, None) == datetime(2025, 9, 10, 4, tzinfo=UTC)  # New York midnight
    preview = comparable(invoice_run_preview(entity=entity, period=jan))
    assert preview == comparable(from_deliveries(entity, jan, monkeypatch))
    assert preview["noplan"]["late"] == 2
    issued = {inv.partner.code: inv for inv in invoice_run_issue(actor=ACTOR, entity=entity, period=jan).issued}
    assert money(issued["noplan"].total_minor, "USD") == preview["noplan"]["total"]
    assert issued["noplan"].lines.get().quantity == 2
    assert summary.drift(entity.pk, entity.timezone) == []


@pytest.mark.django_db
def test_a_weekly_window_reads_its_edge_days_from_the_deliveries_and_issues_what_it_previewed(monkeypatch):
    entity, _ = world()
    rows = []
    for day, hour in ((8, 20), (9, 14), (9, 23), (10, 1), (12, 12), (15, 23), (16, 2), (16, 22), (17, 3)):
        rows += delivery_rows(3, day, hour, "tiers", "auto", None, "USD") + delivery_rows(
            2, day, hour, "carried", "auto", "0.333333", "USD"
        )
    deliveries_receive(actor=ACTOR, entity=entity, rows=[{k: v for k, v in r.items() if v != ""} for r in rows])
    preview = comparable(invoice_run_preview(entity=entity, period=WINDOW))
    assert preview == comparable(from_deliveries(entity, WINDOW, monkeypatch))
    assert preview["tiers"]["late"] > 0  # the leads before Friday 18:00 of the first week
    issued = invoice_run_issue(actor=ACTOR, entity=entity, period=WINDOW).issued
    assert {inv.partner.code: money(inv.total_minor, inv.currency) for inv in issued} == {
        code: row["total"] for code, row in preview.items() if row["document"]
    }
    assert summary.drift(entity.pk, entity.timezone) == []
