"""Set-based gathering of the facts an invoice run bills from.

One SQL shape serves preview and issue (STYLE 5): every unbilled, billable delivery
of the run's partners is resolved to the price plan in effect at its time (the most
specific scope wins: profile + lead type > profile > lead type > partner) and to its
bucket (the period it belongs to). Preview aggregates that set; issue materialises
it once with ranks in a temporary table, so the counts it prices and the leads it
allocates come from one snapshot.

No per-row Python runs here: Python sees one row per (partner, plan version, scope,
bucket) group. Per-lead amounts are computed in SQL with the integer formulas of
`domain.rounding` (`cumulative_share_minor`, `running_share_minor`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from leadbill.bulk import copy_rows
from leadbill.deliveries import summary
from leadbill.domain import generation
from leadbill.domain.periods import Period, local_midnight, zone
from leadbill.invoicing.models import PERIOD_DOCUMENT_SQL
from leadbill.rawsql import db_datetime as _dt
from leadbill.rawsql import sql_false, sql_true

# Bucket ids in SQL: 0 is the billed period, -1 an earlier period never invoiced,
# a positive id the earlier invoice whose period the delivery falls in.
CURRENT_BUCKET = 0
EARLIER_BUCKET = -1
EARLIER_KEY = generation.EARLIER


def id_list(ids: Sequence[int]) -> str:
    return ", ".join(str(int(i)) for i in ids) or "NULL"


# A partner list longer than this is read entity-wide and filtered in Python: ten thousand ids
# cost more to send and plan (a parameter or literal each) than the few extra rows cost to skip.
PARTNER_LIST_MAX = 500


def partners_clause(partner_ids: Sequence[int] | None, column: str = "d.partner_id") -> str:
    """Restrict to some partners, or (None) to every buyer of the entity.

    A literal list of ten thousand ids costs PostgreSQL over a second per scan, so a
    run over all buyers uses a semi-join instead.
    """
    if partner_ids is None:
        return f"{column} IN (SELECT id FROM partners_partner WHERE is_buyer = {sql_true()})"
    return f"{column} IN ({id_list(partner_ids)})"


ALL_LEVELS = ((True, True), (True, False), (False, True), (False, False))


def plan_levels(entity_id: int) -> tuple[tuple[bool, bool], ...]:
    """Which plan scopes (has profile, has lead type) the entity's sell plans use, most specific first.

    The run joins only these: an entity whose plans are all partner-wide resolves each
    delivery with one join instead of four.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT DISTINCT profile_id IS NOT NULL, lead_type_id IS NOT NULL FROM catalog_priceplan
                WHERE entity_id = %s AND side = 'sell'""",
            [entity_id],
        )
        present = {(bool(p), bool(t)) for p, t in cursor.fetchall()}
    return tuple(level for level in ALL_LEVELS if level in present)


TMP_OVER_CAP = "leadbill_tmp_over_cap"


def has_exclusions(entity_id: int) -> bool:
    """Whether any invoice of the entity left leads out over cap: only then do runs look for them
    (an anti-join against an empty, never-analysed table skews PostgreSQL's row estimates)."""
    rows = _fetch(
        f"""SELECT 1 FROM invoicing_excludedlead x JOIN invoicing_invoice i ON i.id = x.invoice_id
             WHERE i.entity_id = %s AND x.voided = {sql_false()} LIMIT 1""",
        [entity_id],
    )
    return bool(rows)


def plan_joins(levels: tuple[tuple[bool, bool], ...], table: str, in_effect: Callable[[str, bool, bool], str]) -> str:
    """LEFT JOINs that leave the most specific plan version in effect as `pl` (the previews' and runs' one rule).

    `in_effect(alias, has profile, has lead type)` is the ON condition of one scope level; with
    several levels in use each gets its alias and `pl` is the first that matched.
    """
    if len(levels) == 1:
        return f"LEFT JOIN {table} pl ON {in_effect('pl', *levels[0])}"
    aliases = [f"p{i}" for i in range(len(levels))]
    joins = "\n".join(f"LEFT JOIN {table} {a} ON {in_effect(a, *lv)}" for a, lv in zip(aliases, levels, strict=True))
    pick = f"COALESCE({', '.join(a + '.id' for a in aliases)})" if aliases else "NULL"
    return joins + f"\nLEFT JOIN {table} pl ON pl.id = {pick}"


def resolved_deliveries_sql(
    partner_ids: Sequence[int] | None,
    levels: tuple[tuple[bool, bool], ...] = ALL_LEVELS,
    *,
    over_cap: bool = False,
    excluded: bool = True,
    summary_tz: str | None = None,
    within: int = 0,
    first_id: int = 0,
) -> str:
    """Unbilled, unreturned deliveries of the partners before the period end, resolved.

    Parameters: start, entity, end, since (in that order, as %s; `_params`). `since` bounds the
    scan: the start of the earliest local day on which the billing summary has open leads.
    Columns: delivery_id, partner_id, delivered_at, price_micros, plan_id, scope_profile,
    scope_type, bucket_invoice, currency_ok, priced, price_key, over_cap, and with `summary_tz`
    the delivery's billing-summary key (profile_raw, lead_type_id, currency, day). `first_id`, the
    lowest id the scan can meet, bounds the anti-joins' inner side too: billed leads, returns and
    exclusions of older deliveries are not read at all (a year of billed leads is ten times a
    month's, and a hash anti-join would read them every run). With `within`,
    only deliveries in that many time ranges (two more parameters each, after `since`). Only rows with currency_ok = 1 and
    priced = 1 are billable; the others are anomalies. The flags are computed columns,
    not filters, so the planner's row estimates stay right (a CASE in WHERE made it
    expect 0.5 % of the rows and pick a serial plan with an on-disk sort).

    `price_key` is the delivered price under a delivered-price plan (the invoice lists those
    leads per price), else NULL. `over_cap` marks the leads in the over-cap table the run
    filled (`mark_over_cap`); without it every row is 0. Leads an earlier invoice left out
    as over cap (`ExcludedLead`) are not billable.
    """

    def in_effect(alias: str, profile: bool, lead_type: bool) -> str:
        return (
            f"{alias}.partner_id = d.partner_id AND {alias}.side = 'sell' "
            f"AND {alias}.profile_id {'= d.profile_id' if profile else 'IS NULL'} "
            f"AND {alias}.lead_type_id {'= d.lead_type_id' if lead_type else 'IS NULL'} "
            f"AND {alias}.effective_from <= d.delivered_at "
            f"AND ({alias}.effective_to IS NULL OR d.delivered_at < {alias}.effective_to)"
        )

    joins = plan_joins(levels, "catalog_priceplan", in_effect)
    excluded_clause = (
        f"""AND NOT EXISTS (SELECT 1 FROM invoicing_excludedlead x
                            WHERE x.delivery_id = d.id AND x.voided = {sql_false()} AND x.delivery_id >= {first_id})"""
        if excluded
        else ""
    )
    over_cap_column = (
        f"CASE WHEN EXISTS (SELECT 1 FROM {TMP_OVER_CAP} o WHERE o.delivery_id = d.id) THEN 1 ELSE 0 END AS over_cap"
        if over_cap
        else "0 AS over_cap"
    )
    within_clause = (
        "AND (" + " OR ".join(["(d.delivered_at >= %s AND d.delivered_at < %s)"] * within) + ")" if within else ""
    )
    key_columns = (
        f""", COALESCE(d.profile_id, 0) AS profile_raw, d.lead_type_id, d.currency,
               {summary.local_day_sql("d.delivered_at", summary_tz)} AS day"""
        if summary_tz
        else ""
    )
    return f"""
        SELECT d.id AS delivery_id, d.partner_id, d.delivered_at, d.price_micros,
               COALESCE(pl.id, 0) AS plan_id,
               COALESCE(pl.profile_id, 0) AS scope_profile,
               COALESCE(pl.lead_type_id, 0) AS scope_type,
               CASE WHEN d.delivered_at >= %s THEN {CURRENT_BUCKET} ELSE COALESCE((
                   SELECT MIN(ci.id) FROM invoicing_invoice ci
                    WHERE ci.partner_id = d.partner_id AND {PERIOD_DOCUMENT_SQL.format(t="ci")}
                      AND ci.status <> 'void'
                      AND ci.period_start <= d.delivered_at AND d.delivered_at < ci.period_end
               ), {EARLIER_BUCKET}) END AS bucket_invoice,
               CASE WHEN d.currency = pa.currency THEN 1 ELSE 0 END AS currency_ok,
               CASE WHEN pl.id IS NULL THEN 0
                    WHEN pl.model = 'delivered' AND d.price_micros IS NULL THEN 0
                    ELSE 1 END AS priced,
               CASE WHEN pl.model = 'delivered' THEN d.price_micros END AS price_key,
               {over_cap_column}{key_columns}
          FROM deliveries_delivery d
          JOIN partners_partner pa ON pa.id = d.partner_id
          {joins}
         WHERE d.entity_id = %s AND d.delivered_at < %s
           AND {f"pa.is_buyer = {sql_true()}" if partner_ids is None else partners_clause(partner_ids)}
           AND d.delivered_at >= %s {within_clause}
           AND NOT EXISTS (SELECT 1 FROM invoicing_billedlead b
                            WHERE b.delivery_id = d.id AND b.voided = {sql_false()} AND b.delivery_id >= {first_id})
           AND NOT EXISTS (SELECT 1 FROM deliveries_return r
                            WHERE r.delivery_id = d.id AND r.status = 'accepted' AND r.delivery_id >= {first_id})
           {excluded_clause}
    """


def tune_for_run() -> None:
    """Give the run's big aggregates memory to hash in (PostgreSQL; inside a transaction only)."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")


def _params(entity_id: int, period: Period, partner_ids: Sequence[int] | None) -> list[object]:
    return [_dt(period.start), entity_id, _dt(period.end), _dt(open_since(entity_id, period, partner_ids))]


def first_delivery_id(entity_id: int, period: Period, partner_ids: Sequence[int] | None) -> int:
    """The lowest id among the deliveries a run scans (`open_since` to the period end), 0 if none."""
    rows = _fetch(
        """SELECT MIN(id) FROM deliveries_delivery
            WHERE entity_id = %s AND delivered_at >= %s AND delivered_at < %s""",
        [entity_id, _dt(open_since(entity_id, period, partner_ids)), _dt(period.end)],
    )
    return int(rows[0][0] or 0) if rows else 0


def open_since(entity_id: int, period: Period, partner_ids: Sequence[int] | None) -> datetime:
    """Where a run's scan of the deliveries starts: the earliest local day with open leads a run
    could bill before the period ends (from the billing summary), else the period start.

    There is no look-back window: a billable lead stays open until it is billed, however late
    it arrives, and the summary says how far back the open ones go.
    """
    since_day = summary.earliest_open_day(entity_id, period.end_day, partner_ids, period.timezone)
    if since_day is None:
        return period.start
    return min(period.start, local_midnight(since_day, zone(period.timezone)))


@dataclass
class Group:
    """Unbilled billable leads of one partner sharing plan version, scope and bucket."""

    partner_id: int
    plan_id: int
    scope_profile: int
    scope_type: int
    bucket_invoice: int
    count: int
    price_sum_micros: int
    over_cap: int = 0
    # Delivered-price plans: leads per delivered price (micros -> count).
    prices: dict[int, int] = field(default_factory=dict)
    # Set when drafting: the bucket's period key and the leads of this scope and
    # bucket already billed (ranks continue after them).
    bucket_key: str = ""
    already_billed: int = 0

    @property
    def scope(self) -> str:
        """The scope key lines carry; over-cap leads (policy "price") are a scope of their own,
        so their lines neither take nor continue the plan's tier ranks."""
        return f"{self.scope_profile}:{self.scope_type}" + (OVER_CAP_SCOPE if self.over_cap else "")


@dataclass
class PartnerFacts:
    partner_id: int
    groups: list[Group] = field(default_factory=list)
    delivered: int = 0
    returned_unbilled: int = 0
    currency_mismatch: int = 0
    missing_price: int = 0
    duplicate_leads: int = 0
    late: int = 0
    cap_overruns: list[str] = field(default_factory=list)
    # Over-cap leads left out (policy "exclude"): their groups, priced as if billed for the preview's effect.
    excluded: list[Group] = field(default_factory=list)

    @property
    def excluded_count(self) -> int:
        return sum(g.count for g in self.excluded)


def _execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _fetch(sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


OVER_CAP_SCOPE = ":over"
GROUP_COLUMNS = "partner_id, plan_id, scope_profile, scope_type, bucket_invoice, over_cap"
FLAGGED_GROUPS = f"""SELECT {GROUP_COLUMNS}, currency_ok, priced, price_key, COUNT(*), SUM(price_micros)
                       FROM %s x GROUP BY {GROUP_COLUMNS}, currency_ok, priced, price_key"""


def _groups_from(
    rows: Iterable[tuple[Any, ...]], facts: dict[int, PartnerFacts], excluding: frozenset[int] = frozenset()
) -> None:
    """Rows per group (and per delivered price) into each partner's groups and anomaly counts.

    Over-cap rows of partners in `excluding` (policy "exclude") are kept apart: not billed.
    """
    groups: dict[tuple[int, ...], Group] = {}
    for partner_id, plan_id, sp, st, bucket, over, currency_ok, priced, price_key, count, price_sum in rows:
        pf = facts.setdefault(partner_id, PartnerFacts(partner_id))
        if not currency_ok or not priced:  # not billed; named as anomalies of the period they were delivered in
            if bucket == CURRENT_BUCKET:
                if not currency_ok:
                    pf.currency_mismatch += int(count)
                else:
                    pf.missing_price += int(count)
            continue
        key = (int(partner_id), int(plan_id), int(sp), int(st), int(bucket), int(over))
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(*key[:5], count=0, price_sum_micros=0, over_cap=int(over))
            if over and partner_id in excluding:
                pf.excluded.append(group)
            else:
                pf.groups.append(group)
        group.count += int(count)
        group.price_sum_micros += int(price_sum or 0)
        if price_key is not None:
            group.prices[int(price_key)] = group.prices.get(int(price_key), 0) + int(count)
        if bucket != CURRENT_BUCKET and not (over and partner_id in excluding):
            pf.late += int(count)


def gather_groups(
    entity_id: int,
    period: Period,
    partner_ids: Sequence[int] | None,
    over_cap: OverCap | None = None,
    within: Sequence[tuple[datetime, datetime]] = (),
) -> dict[int, PartnerFacts]:
    """Preview: aggregate the resolved deliveries without writing anything (but the run's temp tables).

    `within`: only the deliveries in these time ranges (the parts of days the billing summary cannot split).
    """
    facts: dict[int, PartnerFacts] = {}
    if partner_ids is not None and not partner_ids:
        return facts
    marked = bool(over_cap and over_cap.ids)
    resolved = resolved_deliveries_sql(
        partner_ids, plan_levels(entity_id), over_cap=marked, excluded=has_exclusions(entity_id), within=len(within)
    )
    sql = FLAGGED_GROUPS % f"({resolved})"
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        # Ten thousand groups hash in memory; the planner's group estimate would sort a million rows.
        _execute("SET LOCAL enable_sort = off")
    params = _params(entity_id, period, partner_ids) + [_dt(at) for pair in within for at in pair]
    _groups_from(_fetch(sql, params), facts, over_cap.excluding if over_cap else frozenset())
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        _execute("SET LOCAL enable_sort = on")
    return facts


@dataclass(frozen=True)
class OverCap:
    """The leads a run finds over their partner's caps, and what the partners' policies do with them."""

    ids: tuple[int, ...] = ()
    excluding: frozenset[int] = frozenset()  # partners whose over-cap leads are left out
    repricing: frozenset[int] = frozenset()  # partners whose over-cap leads are billed at the over-cap price


def _instant(value: object) -> datetime:
    """A timestamp as the raw cursor returns it (SQLite: text in UTC), aware."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def billable_times(entity_id: int, period: Period, partner_ids: Sequence[int]) -> list[tuple[int, int, datetime]]:
    """(partner, delivery, delivered at) of the billable leads of these partners, in delivery order."""
    if not partner_ids:
        return []
    sql = f"""SELECT partner_id, delivery_id, delivered_at FROM ({resolved_deliveries_sql(partner_ids)}) x
               WHERE currency_ok = 1 AND priced = 1 ORDER BY partner_id, delivered_at, delivery_id"""
    return [(int(p), int(d), _instant(at)) for p, d, at in _fetch(sql, _params(entity_id, period, partner_ids))]


def taken_times(partner_ids: Sequence[int], start: datetime, end: datetime) -> list[tuple[int, datetime]]:
    """(partner, delivered at) of leads billed within cap (not on over-cap lines) delivered in [start, end)."""
    if not partner_ids:
        return []
    rows = _fetch(
        f"""SELECT d.partner_id, d.delivered_at FROM invoicing_billedlead b
              JOIN deliveries_delivery d ON d.id = b.delivery_id
              JOIN invoicing_invoiceline l ON l.id = b.line_id
             WHERE b.voided = {sql_false()} AND d.partner_id IN ({id_list(partner_ids)})
               AND d.delivered_at >= %s AND d.delivered_at < %s AND l.scope NOT LIKE %s""",
        [_dt(start), _dt(end), f"%{OVER_CAP_SCOPE}"],
    )
    return [(int(p), _instant(at)) for p, at in rows]


def mark_over_cap(ids: Sequence[int]) -> None:
    """The over-cap leads, in a temp table the resolved deliveries look up (`over_cap` column)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TMP_OVER_CAP}")
        if not ids:
            return
        cursor.execute(f"CREATE TEMP TABLE {TMP_OVER_CAP} (delivery_id BIGINT PRIMARY KEY)")
        cursor.executemany(f"INSERT INTO {TMP_OVER_CAP} VALUES (%s)", [(i,) for i in ids])


def exclude_over_cap(invoice_by_partner: dict[int, int]) -> int:
    """Mark the over-cap leads a run left out (policy "exclude") on the invoice of their partner."""
    done = 0
    with connection.cursor() as cursor:
        for partner_id, invoice_id in sorted(invoice_by_partner.items()):
            cursor.execute(
                f"""INSERT INTO invoicing_excludedlead (delivery_id, invoice_id, reason, voided)
                    SELECT delivery_id, %s, 'over_cap', {sql_false()} FROM {TMP_BILLABLE}
                     WHERE partner_id = %s AND over_cap = 1 AND currency_ok = 1 AND priced = 1""",
                [invoice_id, partner_id],
            )
            done += int(cursor.rowcount)
    return done


TMP_BILLABLE = "leadbill_tmp_billable"
TMP_BAND = "leadbill_tmp_band"
TMP_ALLOC = "leadbill_tmp_alloc"


def materialise_billable(
    entity_id: int, period: Period, partner_ids: Sequence[int] | None, over_cap: OverCap | None = None
) -> dict[int, PartnerFacts]:
    """Issue: rank the billable deliveries once into a temp table and aggregate from it.

    Must run inside the issuing transaction; `allocate_billed_leads` reads the same
    table, so counts and allocation agree even while deliveries keep arriving.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TMP_BILLABLE}")
        cursor.execute(f"DROP TABLE IF EXISTS {TMP_BAND}")
    marked = bool(over_cap and over_cap.ids)
    # One window, one sort: ranks restart per plan version (the band rows carry each
    # version's offset), and anomalies (currency_ok = 0 or priced = 0) fall in partitions
    # of their own that no band matches. The scope is not a partition key: a plan version
    # has one scope, so its columns would only lengthen every comparison of the sort.
    sql = f"""
        CREATE TEMP TABLE {TMP_BILLABLE} AS
        SELECT delivery_id, partner_id, plan_id, scope_profile, scope_type, bucket_invoice, over_cap,
               currency_ok, priced, price_key, price_micros, profile_raw, lead_type_id, currency, day,
               ROW_NUMBER() OVER w AS rn
          FROM ({
        resolved_deliveries_sql(
            partner_ids,
            plan_levels(entity_id),
            over_cap=marked,
            excluded=has_exclusions(entity_id),
            summary_tz=period.timezone,
            first_id=first_delivery_id(entity_id, period, partner_ids),
        )
    }) x
        WINDOW w AS (PARTITION BY partner_id, plan_id, bucket_invoice, over_cap, currency_ok, priced
                     ORDER BY delivered_at, delivery_id)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(entity_id, period, partner_ids))
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {TMP_BILLABLE}")  # temp tables are never auto-analysed
    facts: dict[int, PartnerFacts] = {}
    _groups_from(_fetch(FLAGGED_GROUPS % TMP_BILLABLE, []), facts, over_cap.excluding if over_cap else frozenset())
    return facts


def drop_temp_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TMP_BILLABLE}")
        cursor.execute(f"DROP TABLE IF EXISTS {TMP_BAND}")
        cursor.execute(f"DROP TABLE IF EXISTS {TMP_OVER_CAP}")
        cursor.execute(f"DROP TABLE IF EXISTS {TMP_ALLOC}")


@dataclass(frozen=True)
class BandRow:
    """One invoice line's share of ranks, as the SQL allocation needs it."""

    partner_id: int
    scope_profile: int
    scope_type: int
    bucket_invoice: int
    plan_id: int
    rank_offset: int
    rank_from: int
    rank_to: int
    unit_price_micros: int | None
    divisor: int
    line_id: int
    invoice_id: int
    over_cap: int = 0
    # Delivered-price lines: the prices of their leads (inclusive); None for a line at one plan price.
    price_low: int | None = None
    price_high: int | None = None


def allocate_billed_leads(bands: Sequence[BandRow]) -> int:
    """Insert one BilledLead per lead, with its exact share of its line, set-based.

    The shares are computed into a temp table with each lead's billing-summary key first
    (`TMP_ALLOC`), so the summary's move from open to billed is one grouping of it
    (`deliveries.summary.record_issue`), not a join back to the billed leads.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TMP_ALLOC}")
        cursor.execute(
            f"""CREATE TEMP TABLE {TMP_ALLOC} (
                delivery_id BIGINT, invoice_id BIGINT, line_id BIGINT, amount_minor BIGINT, partner_id BIGINT,
                profile_raw BIGINT, lead_type_id BIGINT, currency VARCHAR(3), day DATE, price_micros BIGINT)"""
        )
        cursor.execute(f"CREATE TEMP TABLE {TMP_BAND} ({', '.join(f'{c} BIGINT' for c in BAND_COLUMNS)})")
        copy_rows(
            TMP_BAND, BAND_COLUMNS,
            [
                (
                    b.partner_id, b.scope_profile, b.scope_type, b.bucket_invoice, b.plan_id, b.over_cap,
                    b.rank_offset, b.rank_from, b.rank_to, b.unit_price_micros, b.price_low, b.price_high,
                    b.divisor, b.line_id, b.invoice_id,
                )
                for b in bands
            ],
        )  # fmt: skip
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {TMP_BAND}")
        # PostgreSQL hashes on the partner alone and checks the rest per candidate band (`IS NOT DISTINCT
        # FROM` is `=` on these non-null columns, but not a hash key). With all six columns as hash keys
        # its estimate of the join fell to a few rows and it hashed the million leads instead of the
        # few thousand bands (spilling to disk at ten million); see docs/benchmarks.md.
        same = "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "="
        match = f"""t.currency_ok = 1 AND t.priced = 1 AND b.partner_id = t.partner_id
               AND b.scope_profile {same} t.scope_profile AND b.scope_type {same} t.scope_type
               AND b.bucket_invoice {same} t.bucket_invoice AND b.plan_id {same} t.plan_id
               AND b.over_cap {same} t.over_cap AND t.rn + b.rank_offset BETWEEN b.rank_from AND b.rank_to"""
        # A line at one price: k = the lead's index within its line; share(k) = rhu(k*u) - rhu((k-1)*u),
        # rhu(x) = (x + D/2) / D.
        inserted = 0
        if any(b.price_low is None for b in bands):
            cursor.execute(
                f"""
            INSERT INTO {TMP_ALLOC}
            SELECT t.delivery_id, b.invoice_id, b.line_id,
                   ((t.rn + b.rank_offset - b.rank_from + 1) * b.unit_micros + b.divisor / 2) / b.divisor
                   - ((t.rn + b.rank_offset - b.rank_from) * b.unit_micros + b.divisor / 2) / b.divisor,
                   {ALLOC_KEY}
              FROM {TMP_BILLABLE} t JOIN {TMP_BAND} b ON {match} AND b.price_low IS NULL
            """
            )
            inserted = int(cursor.rowcount)
        if any(b.price_low is not None for b in bands):
            inserted += _allocate_delivered_prices(cursor, match)
        cursor.execute(
            f"""INSERT INTO invoicing_billedlead (delivery_id, invoice_id, line_id, amount_minor, voided)
                SELECT delivery_id, invoice_id, line_id, amount_minor, {sql_false()} FROM {TMP_ALLOC}"""
        )
        return inserted


BAND_COLUMNS = (
    "partner_id", "scope_profile", "scope_type", "bucket_invoice", "plan_id", "over_cap", "rank_offset", "rank_from",
    "rank_to", "unit_micros", "price_low", "price_high", "divisor", "line_id", "invoice_id",
)  # fmt: skip
ALLOC_KEY = "t.partner_id, t.profile_raw, t.lead_type_id, t.currency, t.day, t.price_micros"


def _allocate_delivered_prices(cursor: Any, match: str) -> int:
    """The leads of delivered-price lines into the allocation table."""
    # Delivered-price lines (one per price or price band): the leads of a group, band after band
    # in price order and in delivery order within a band, each the difference of the group's
    # rounded running sums (the lines are the same steps: `generation._delivered_lines`).
    cursor.execute(
        f"""
        INSERT INTO {TMP_ALLOC}
        SELECT delivery_id, invoice_id, line_id,
               (run + divisor / 2) / divisor - (run - price_micros + divisor / 2) / divisor,
               partner_id, profile_raw, lead_type_id, currency, day, price_micros
          FROM (SELECT t.delivery_id, b.invoice_id, b.line_id, b.divisor, {ALLOC_KEY},
                       CAST(SUM(t.price_micros) OVER (
                           PARTITION BY t.partner_id, t.scope_profile, t.scope_type, t.bucket_invoice,
                                        t.plan_id, t.over_cap
                           ORDER BY b.price_low, t.rn ROWS UNBOUNDED PRECEDING) AS BIGINT) AS run
                  FROM {TMP_BILLABLE} t JOIN {TMP_BAND} b
                    ON {match} AND b.price_low IS NOT NULL
                   AND t.price_micros BETWEEN b.price_low AND b.price_high) y
        """
    )
    return int(cursor.rowcount)


def line_totals(invoice_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(count, amount) of billed leads per line, to check the allocation against the lines."""
    rows = _fetch(
        f"""SELECT line_id, COUNT(*), SUM(amount_minor) FROM invoicing_billedlead
             WHERE invoice_id IN ({id_list(invoice_ids)}) GROUP BY line_id""",
        [],
    )
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}


def count_in_windows(
    partner_ids: Sequence[int], windows: Sequence[tuple[datetime, datetime]]
) -> dict[tuple[int, int], int]:
    """Deliveries per partner and window index; the windows must not overlap (each
    delivery is counted in the first window it falls in)."""
    if not partner_ids or not windows:
        return {}
    cases = " ".join(f"WHEN delivered_at >= %s AND delivered_at < %s THEN {i}" for i in range(len(windows)))
    params: list[object] = []
    for start, end in windows:
        params += [_dt(start), _dt(end)]
    rows = _fetch(
        f"""SELECT partner_id, w, COUNT(*) FROM (
                SELECT partner_id, CASE {cases} ELSE -1 END AS w FROM deliveries_delivery
                 WHERE partner_id IN ({id_list(partner_ids)}) AND delivered_at >= %s AND delivered_at < %s) x
             WHERE w >= 0 GROUP BY partner_id, w""",
        [*params, _dt(min(s for s, _ in windows)), _dt(max(e for _, e in windows))],
    )
    return {(int(p), int(w)): int(n) for p, w, n in rows}


def already_billed(partner_ids: Sequence[int]) -> dict[tuple[int, str, str], int]:
    """Leads already billed per (partner, scope, bucket key) on active invoices."""
    if not partner_ids:
        return {}
    rows = _fetch(
        f"""SELECT i.partner_id, l.scope, l.bucket, SUM(l.quantity)
              FROM invoicing_invoiceline l JOIN invoicing_invoice i ON i.id = l.invoice_id
             WHERE i.partner_id IN ({id_list(partner_ids)}) AND i.status <> 'void'
               AND l.kind IN ('charge', 'prior_period')
             GROUP BY i.partner_id, l.scope, l.bucket""",
        [],
    )
    out: dict[tuple[int, str, str], int] = defaultdict(int)
    for partner_id, scope, bucket, qty in rows:
        out[(int(partner_id), str(scope), str(bucket))] = int(qty)
    return out
