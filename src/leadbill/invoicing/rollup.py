"""A run's facts read from the billing summary, in time that grows with partners × days.

The preview (and the dashboard and anomaly counts that use it) reads the open leads of the
billing summary (`deliveries.summary`) instead of every delivery: plans are resolved per
summary row (partner, profile, lead type, local day), and each earlier day's bucket (the
invoice whose period it falls in) per partner-day in Python.

A day is the summary's grain, so a partner whose billing has a boundary inside a local day
is read from the deliveries instead (`facts.gather_groups`): a plan version starting at a
time other than local midnight, an earlier invoice whose period cuts one of its open days,
or a cap policy that picks leads one by one. A period that starts or ends inside a day (a
weekly window from Friday 18:00) reads those two days from the deliveries and the days
between from the summary. The result is the same `PartnerFacts` either way, so drafting
does not know where its facts came from; the tests compare the two paths.

Delivered-price groups carry their sum, not their prices: the preview shows them as one line
whose amount is the issued breakdown's total to the cent (`generation._delivered_lines`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from django.db import connection

from leadbill.deliveries import summary
from leadbill.domain.periods import Period, is_local_midnight, local_midnight, zone
from leadbill.invoicing import facts as f
from leadbill.partners.models import Partner

TMP_PLAN_DAYS = "leadbill_tmp_plan_days"


def aligned(period: Period) -> bool:
    """Whether the period starts and ends at local midnight (the summary's grain)."""
    return period.start_minute == 0 and period.end_minute == 0


def edges(period: Period) -> list[tuple[datetime, datetime]]:
    """The whole local days a period starts or ends inside (a weekly window from Friday 18:00): their
    leads are read from the deliveries, the days between from the summary."""
    tz = zone(period.timezone)
    out = []
    if period.start_minute:
        out.append((local_midnight(period.first_day, tz), local_midnight(period.first_day + timedelta(days=1), tz)))
    if period.end_minute:
        out.append((local_midnight(period.end_day, tz), period.end))
    return out


def _merge(into: dict[int, f.PartnerFacts], edge: dict[int, f.PartnerFacts]) -> None:
    """Add the facts read from the deliveries of a period's edge days to those read from the summary."""
    for partner_id, more in edge.items():
        pf = into.setdefault(partner_id, f.PartnerFacts(partner_id))
        pf.currency_mismatch += more.currency_mismatch
        pf.missing_price += more.missing_price
        pf.late += more.late
        for group in more.groups:
            key = (group.plan_id, group.scope_profile, group.scope_type, group.bucket_invoice, group.over_cap)
            same = next(
                (g for g in pf.groups
                 if (g.plan_id, g.scope_profile, g.scope_type, g.bucket_invoice, g.over_cap) == key),
                None,
            )  # fmt: skip
            if same is None:
                pf.groups.append(group)
                same = group
            else:
                same.count += group.count
                same.price_sum_micros += group.price_sum_micros
            same.prices = {}  # summed, not listed: the summary holds no prices (one line, same total)


def partners_with_mid_day_plans(entity_id: int, tz: str, since: datetime) -> set[int]:
    """Partners with a sell plan version starting or ending inside a local day on or after `since`
    (a boundary before the earliest open lead cuts no day the run reads)."""
    from leadbill.catalog.models import PricePlan

    rows = PricePlan.objects.filter(entity_id=entity_id, side="sell").values_list(
        "partner_id", "effective_from", "effective_to"
    )
    return {
        p for p, start, end in rows
        if any(at is not None and at > since and not is_local_midnight(at, zone(tz)) for at in (start, end))
    }  # fmt: skip


def _plan_days(entity_id: int, tz: str) -> None:
    """The entity's sell plan versions with their local first and end days, in a temp table."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TMP_PLAN_DAYS}")
        cursor.execute(
            f"""CREATE TEMP TABLE {TMP_PLAN_DAYS} AS
                SELECT id, partner_id, profile_id, lead_type_id, model,
                       {summary.local_day_sql("effective_from", tz)} AS from_day,
                       {summary.local_day_sql("effective_to", tz)} AS to_day
                  FROM catalog_priceplan WHERE entity_id = %s AND side = 'sell'""",
            [entity_id],
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {TMP_PLAN_DAYS}")


def _open_rows_sql(levels: tuple[tuple[bool, bool], ...], partners: str, *, split_first: bool = False) -> str:
    """Open summary rows before the period end, resolved to their plan version; earlier days kept apart.

    The period's own days are summed per scope and currency before plans are joined, so the join
    and the grouping see about one row per partner and scope, not one per day. That is exact
    for a partner none of whose plan versions starts or ends after the period's first day and
    before its end (every day of the period is then under the same version); the days of the
    others stay apart and are resolved one by one. Earlier days always stay apart: each has its
    own bucket.

    Parameters: first day, first day, end day, first day, end day (the plan turns), entity, end day,
    [first day, with `split_first`: a period starting inside its first day leaves that day out],
    first day, first day.
    """

    def in_effect(alias: str, profile: bool, lead_type: bool) -> str:
        return (
            f"{alias}.partner_id = s.partner_id "
            f"AND {alias}.profile_id {'= s.profile_id' if profile else 'IS NULL'} "
            f"AND {alias}.lead_type_id {'= s.lead_type_id' if lead_type else 'IS NULL'} "
            f"AND {alias}.from_day <= s.day AND ({alias}.to_day IS NULL OR s.day < {alias}.to_day)"
        )

    joins = f.plan_joins(levels, TMP_PLAN_DAYS, in_effect)
    return f"""
        SELECT s.partner_id, COALESCE(pl.id, 0), COALESCE(pl.profile_id, 0), COALESCE(pl.lead_type_id, 0),
               COALESCE(pl.model, ''), CASE WHEN s.day >= %s THEN NULL ELSE s.day END AS late_day,
               CASE WHEN s.currency = pa.currency THEN 1 ELSE 0 END AS currency_ok,
               SUM(s.open_leads), SUM(s.open_priced), SUM(s.open_price_micros)
          FROM (SELECT s.partner_id, s.profile_id, s.lead_type_id, s.currency, MIN(s.day) AS day,
                       SUM(s.open_leads) AS open_leads, SUM(s.open_priced) AS open_priced,
                       SUM(s.open_price_micros) AS open_price_micros
                  FROM {summary.SUMMARY} s
                  LEFT JOIN (SELECT DISTINCT partner_id FROM {TMP_PLAN_DAYS}
                              WHERE (from_day > %s AND from_day < %s) OR (to_day > %s AND to_day < %s)) turns
                         ON turns.partner_id = s.partner_id
                 WHERE s.entity_id = %s AND s.open_leads > 0 AND s.day < %s AND {partners}
                       {"AND s.day <> %s" if split_first else ""}
                 GROUP BY s.partner_id, s.profile_id, s.lead_type_id, s.currency,
                          CASE WHEN s.day >= %s AND turns.partner_id IS NULL THEN NULL ELSE s.day END) s
          JOIN partners_partner pa ON pa.id = s.partner_id AND pa.is_buyer = {f.sql_true()}
          {joins}
         GROUP BY s.partner_id, COALESCE(pl.id, 0), COALESCE(pl.profile_id, 0), COALESCE(pl.lead_type_id, 0),
                  COALESCE(pl.model, ''), CASE WHEN s.day >= %s THEN NULL ELSE s.day END,
                  CASE WHEN s.currency = pa.currency THEN 1 ELSE 0 END"""


class _Buckets:
    """Each earlier local day's bucket per partner: the first active invoice whose period holds it.

    A day an invoice period only partly covers cannot be read from day counts: its partner is
    marked to be read from the deliveries.
    """

    def __init__(self, partner_ids: Sequence[int], tz: str) -> None:
        from leadbill.invoicing.models import PERIOD_DOCUMENT, Invoice, Status

        self.tz = zone(tz)
        self.periods: dict[int, list[tuple[int, datetime, datetime]]] = defaultdict(list)
        rows = (
            Invoice.objects.filter(PERIOD_DOCUMENT, partner_id__in=list(partner_ids))
            .exclude(status=Status.VOID)
            .exclude(period_start__isnull=True)
            .values_list("partner_id", "id", "period_start", "period_end")
            .order_by("id")
        )
        for partner_id, invoice_id, start, end in rows:
            self.periods[partner_id].append((invoice_id, start, end))
        self.cut: set[int] = set()

    def of(self, partner_id: int, day: date) -> int:
        start, end = local_midnight(day, self.tz), local_midnight(day + timedelta(days=1), self.tz)
        for invoice_id, p_start, p_end in self.periods.get(partner_id, ()):
            if p_start <= start and end <= p_end:
                return invoice_id
            if p_start < end and start < p_end:  # the period cuts the day
                self.cut.add(partner_id)
        return f.EARLIER_BUCKET


def gather_groups(
    entity_id: int, period: Period, partners: Sequence[Partner], *, whole: bool
) -> tuple[dict[int, f.PartnerFacts], list[Partner]]:
    """The facts of the partners the summary can answer, and the partners to read from the deliveries.

    `whole`: the partners are every buyer of the entity (the query uses a semi-join, not a list).
    """
    from leadbill.invoicing.drafting import capped_by_policy

    if not partners:
        return {}, []
    tz = period.timezone
    since_day = summary.earliest_open_day(entity_id, period.end_day, None if whole else [p.pk for p in partners], tz)
    if since_day is None:  # nothing open: only the activity counts matter
        since_day = period.first_day
    since = local_midnight(since_day, zone(tz))
    detail = {p.pk for p in capped_by_policy(partners)} | partners_with_mid_day_plans(entity_id, tz, since)
    levels = f.plan_levels(entity_id)
    facts: dict[int, f.PartnerFacts] = {}
    if levels:
        _plan_days(entity_id, tz)
        ids = [p.pk for p in partners if p.pk not in detail]
        # Buyers only: for every buyer, a filter on the joined partner after the summing, not a semi-join per row.
        clause = "1 = 1" if whole else f.partners_clause(ids, "s.partner_id")
        if whole and detail:
            clause += f" AND s.partner_id NOT IN ({f.id_list(sorted(detail))})"
        first, end = summary.day_param(period.first_day), summary.day_param(period.end_day)
        split_first = bool(period.start_minute)  # the first day is split between this period and the one before
        params = [first, first, end, first, end, entity_id, end, *([first] if split_first else []), first, first]
        with connection.cursor() as cursor:
            cursor.execute(_open_rows_sql(levels, clause, split_first=split_first), params)
            rows = cursor.fetchall()
            cursor.execute(f"DROP TABLE IF EXISTS {TMP_PLAN_DAYS}")
    else:  # no plan at all: every open lead is without a price
        rows = _unplanned_rows(entity_id, period, partners, detail, whole)
    late_partners = {int(r[0]) for r in rows if r[5] is not None}
    buckets = _Buckets(sorted(late_partners), tz) if late_partners else None
    groups: dict[tuple[int, ...], f.Group] = {}
    for partner_id, plan_id, sp, st, model, late_day, currency_ok, leads, priced, price_sum in rows:
        partner_id = int(partner_id)
        pf = facts.setdefault(partner_id, f.PartnerFacts(partner_id))
        leads, priced, price_sum = int(leads), int(priced or 0), int(price_sum or 0)
        current = late_day is None  # leads not billed are anomalies of the period they were delivered in
        if not currency_ok or not plan_id:
            if current and not currency_ok:
                pf.currency_mismatch += leads
            elif current:
                pf.missing_price += leads
            continue
        count = leads
        if model == "delivered":
            pf.missing_price += (leads - priced) if current else 0
            count = priced
        if not count:
            continue
        bucket = f.CURRENT_BUCKET if late_day is None else buckets.of(partner_id, summary.as_date(late_day))  # type: ignore[union-attr]
        key = (partner_id, int(plan_id), int(sp), int(st), bucket)
        group = groups.get(key)
        if group is None:
            group = groups[key] = f.Group(*key, count=0, price_sum_micros=0)
            pf.groups.append(group)
        group.count += count
        group.price_sum_micros += price_sum
        if bucket != f.CURRENT_BUCKET:
            pf.late += count
    if buckets is not None and buckets.cut:
        detail |= buckets.cut
        for partner_id in buckets.cut:
            facts.pop(partner_id, None)
    if edges(period):
        ids = None if whole and not detail else [p.pk for p in partners if p.pk not in detail]
        _merge(facts, f.gather_groups(entity_id, period, ids, within=edges(period)))
    return facts, [p for p in partners if p.pk in detail]


def _unplanned_rows(
    entity_id: int, period: Period, partners: Sequence[Partner], detail: set[int], whole: bool
) -> list[tuple[object, ...]]:
    """Open rows when the entity has no sell plan: counted as leads without a price (or in another currency)."""
    clause = f.partners_clause(None if whole else [p.pk for p in partners if p.pk not in detail], "s.partner_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT s.partner_id, 0, 0, 0, '', NULL, CASE WHEN s.currency = pa.currency THEN 1 ELSE 0 END,
                       SUM(s.open_leads), SUM(s.open_priced), SUM(s.open_price_micros)
                  FROM {summary.SUMMARY} s JOIN partners_partner pa ON pa.id = s.partner_id
                 WHERE s.entity_id = %s AND s.open_leads > 0 AND s.day < %s AND {clause}
                 GROUP BY s.partner_id, CASE WHEN s.currency = pa.currency THEN 1 ELSE 0 END""",
            [entity_id, summary.day_param(period.end_day)],
        )
        return [r for r in cursor.fetchall() if int(r[0]) not in detail]


def gather_activity(
    entity_id: int, period: Period, partner_ids: Sequence[int] | None, facts: dict[int, f.PartnerFacts]
) -> None:
    """Delivered, returned-before-billing and repeated leads of the period: whole days from the summary,
    the parts of the days a period starts or ends inside from the deliveries."""
    if partner_ids is not None and not partner_ids:
        return
    first_day = period.first_day + timedelta(days=1) if period.start_minute else period.first_day
    first, end = summary.day_param(first_day), summary.day_param(period.end_day)
    # Every partner: no per-row semi-join on the buyers; a non-buyer's counts are simply not asked for.
    clause = "1 = 1" if partner_ids is None else f.partners_clause(partner_ids, "s.partner_id")
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT s.partner_id, SUM(s.leads), SUM(s.returned_leads)
                  FROM {summary.SUMMARY} s
                 WHERE s.entity_id = %s AND s.day >= %s AND s.day < %s AND {clause}
                 GROUP BY s.partner_id""",
            [entity_id, first, end],
        )
        for partner_id, delivered, returned in cursor.fetchall():
            counts[int(partner_id)][0] += int(delivered or 0)
            counts[int(partner_id)][1] += int(returned or 0)
        cursor.execute(
            f"""SELECT s.partner_id, SUM(s.repeats) FROM {summary.REPEATS} s
                 WHERE s.entity_id = %s AND s.day >= %s AND s.day < %s AND {clause}
                 GROUP BY s.partner_id""",
            [entity_id, first, end],
        )
        for partner_id, repeats in cursor.fetchall():
            counts[int(partner_id)][2] += int(repeats or 0)
        for start, stop in _inside(period):
            cursor.execute(_activity_sql(f.partners_clause(partner_ids)), [entity_id, f._dt(start), f._dt(stop)])
            for partner_id, delivered, returned, repeats in cursor.fetchall():
                more = counts[int(partner_id)]
                more[0], more[1], more[2] = (
                    more[0] + int(delivered),
                    more[1] + int(returned or 0),
                    more[2] + int(repeats or 0),
                )
    for partner_id, (delivered, returned, repeats) in counts.items():
        pf = facts.setdefault(partner_id, f.PartnerFacts(partner_id))
        pf.delivered, pf.returned_unbilled, pf.duplicate_leads = delivered, returned, repeats


def _inside(period: Period) -> list[tuple[datetime, datetime]]:
    """The parts of the edge days that are inside the period."""
    tz = zone(period.timezone)
    out = []
    if period.start_minute:
        out.append((period.start, min(period.end, local_midnight(period.first_day + timedelta(days=1), tz))))
    if period.end_minute and period.end_day > period.first_day:
        out.append((max(period.start, local_midnight(period.end_day, tz)), period.end))
    return out


def _activity_sql(partners: str) -> str:
    """Activity of the deliveries in one time range, counted as the summary counts it (parameters:
    entity, start, end)."""
    return f"""
        SELECT d.partner_id, COUNT(*),
               SUM(CASE WHEN EXISTS (SELECT 1 FROM deliveries_return r
                                      WHERE r.delivery_id = d.id AND r.status = 'accepted')
                         AND NOT EXISTS (SELECT 1 FROM invoicing_billedlead b
                                          WHERE b.delivery_id = d.id AND b.voided = {f.sql_false()})
                   THEN 1 ELSE 0 END),
               SUM(CASE WHEN EXISTS (SELECT 1 FROM deliveries_delivery e
                                      WHERE e.entity_id = d.entity_id AND e.lead_id = d.lead_id
                                        AND e.partner_id = d.partner_id AND e.id < d.id) THEN 1 ELSE 0 END)
          FROM deliveries_delivery d
         WHERE d.entity_id = %s AND d.delivered_at >= %s AND d.delivered_at < %s AND {partners}
         GROUP BY d.partner_id"""


def leads_per_day(
    entity_id: int, partner_ids: Sequence[int], first_day: date, end_day: date
) -> dict[tuple[int, date], int]:
    """Deliveries per partner and local day, every state (for cap flags)."""
    if not partner_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT partner_id, day, SUM(leads) FROM {summary.SUMMARY}
                 WHERE entity_id = %s AND partner_id IN ({f.id_list(partner_ids)}) AND day >= %s AND day < %s
                 GROUP BY partner_id, day""",
            [entity_id, summary.day_param(first_day), summary.day_param(end_day)],
        )
        return {(int(p), summary.as_date(d)): int(n) for p, d, n in cursor.fetchall() if n}
