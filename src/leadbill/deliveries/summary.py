"""The billing summary: deliveries counted per partner, scope, local day and currency, by billing state.

Every write that changes what a delivery counts as calls one of the functions here in its own
transaction, set-based (docs/decisions/0011-billing-summary.md):

- `add_inserted`: rows an import, an API batch or a single delivery just inserted (state open),
  and the repeats among them;
- `record_issue`: the issue step's move of leads from open to billed (with their billed
  amounts) or excluded, read from the run's own temp tables;
- `refresh`: any other change (returns accepted, void, discarded drafts, an entity's new time
  zone), by recounting the touched partner-days from the deliveries.

`drift` recounts an entity from the deliveries and compares (`leadbill verify`); `rebuild`
replaces an entity's summary with that recount.

The local day is computed in SQL: PostgreSQL's `AT TIME ZONE`, and on SQLite a deterministic
function this module registers on every connection (registered on the connection by `local_day_sql`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.db import connection

from leadbill.domain.periods import local_midnight, zone
from leadbill.partners import stamps
from leadbill.rawsql import db_datetime as _dt
from leadbill.rawsql import sql_false as _false

SUMMARY = "deliveries_billingsummary"
REPEATS = "deliveries_repeatsummary"
KEY = "entity_id, partner_id, profile_id, lead_type_id, day, currency"
VALUES = "leads, open_leads, open_priced, open_price_micros, billed_leads, billed_minor, returned_leads, excluded_leads"
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-/]{1,64}$")

OPEN, BILLED, RETURNED, EXCLUDED = "open", "billed", "returned", "excluded"


# --- the local day in SQL ------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def _day_of_minute(minute: str, tz: str) -> str:
    at = datetime.fromisoformat(minute).replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(tz)).date().isoformat()


def _sqlite_local_day(stamp: str | None, tz: str) -> str | None:
    """SQLite stores times as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'; offsets change on whole minutes."""
    if stamp is None:
        return None
    return _day_of_minute(stamp[:16], tz)


def _register_sqlite_function() -> None:
    """The local-day function the summary's SQL calls on SQLite, on the current connection (idempotent)."""
    connection.ensure_connection()
    connection.connection.create_function("leadbill_local_day", 2, _sqlite_local_day, deterministic=True)


def _zone_literal(tz: str) -> str:
    if not _ZONE_NAME.match(tz):
        raise ValueError(f"not a time zone name: {tz!r}")
    zone(tz)  # refuses names zoneinfo does not know
    return f"'{tz}'"


def local_day_sql(column: str, tz: str) -> str:
    """SQL for the local date of a timestamp column in `tz` (a checked literal, no parameter)."""
    if connection.vendor == "postgresql":
        return f"CAST(({column} AT TIME ZONE {_zone_literal(tz)}) AS date)"
    _register_sqlite_function()
    return f"leadbill_local_day({column}, {_zone_literal(tz)})"


def day_param(value: date) -> object:
    return value if connection.vendor == "postgresql" else value.isoformat()


def as_date(value: object) -> date:
    """A summary day as the raw cursor returns it (SQLite: ISO text)."""
    if isinstance(value, str):
        return date.fromisoformat(value)
    assert isinstance(value, date)
    return value


# --- writes --------------------------------------------------------------------------------


# Summary rows are written in key order by every upsert, so two transactions counting the same
# partner-days (two API batches, an import and a batch) lock them in the same order and wait for each
# other instead of deadlocking.
IN_KEY_ORDER = "ORDER BY 1, 2, 3, 4, 5, 6"


def _upsert(select_sql: str, params: Sequence[object]) -> None:
    """Add the selected rows' counts to the summary (negative counts subtract)."""
    add = ", ".join(f"{c} = {SUMMARY}.{c} + excluded.{c}" for c in VALUES.split(", "))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SUMMARY} ({KEY}, {VALUES}) {select_sql} ON CONFLICT ({KEY}) DO UPDATE SET {add}", params
        )


def _repeats_sql(where: str, tz: str) -> str:
    """Count the deliveries `d` matching `where` that repeat a lead the same partner was delivered before."""
    day = local_day_sql("d.delivered_at", tz)
    return f"""INSERT INTO {REPEATS} (entity_id, partner_id, day, repeats)
               SELECT d.entity_id, d.partner_id, {day}, COUNT(*) FROM deliveries_delivery d
                WHERE {where} AND EXISTS (SELECT 1 FROM deliveries_delivery e
                                           WHERE e.entity_id = d.entity_id AND e.lead_id = d.lead_id
                                             AND e.partner_id = d.partner_id AND e.id < d.id)
                GROUP BY d.entity_id, d.partner_id, {day}
                ORDER BY 1, 2, 3
               ON CONFLICT (entity_id, partner_id, day) DO UPDATE SET repeats = {REPEATS}.repeats + excluded.repeats"""


# The rows a chunk just inserted, found by the primary key's range: `+ 0` keeps the planner off the
# (entity, delivered_at) index, whose stale row estimate during a long import made it read every
# delivery of the entity for each chunk.
_INSERTED = "d.entity_id + 0 = %s AND d.id > %s AND d.created_at = %s"


def inserted_statements(tz: str, where: str = _INSERTED) -> list[str]:
    """What `add_inserted` runs, each with the parameters (entity, id above, created_at), for a caller's pipeline."""
    day = local_day_sql("d.delivered_at", tz)
    add = ", ".join(f"{c} = {SUMMARY}.{c} + excluded.{c}" for c in VALUES.split(", "))
    counts = f"""INSERT INTO {SUMMARY} ({KEY}, {VALUES})
               SELECT d.entity_id, d.partner_id, COALESCE(d.profile_id, 0), d.lead_type_id, {day}, d.currency,
                      COUNT(*), COUNT(*), COUNT(d.price_micros), COALESCE(SUM(d.price_micros), 0), 0, 0, 0, 0
                 FROM deliveries_delivery d
                WHERE {where}
                GROUP BY d.entity_id, d.partner_id, COALESCE(d.profile_id, 0), d.lead_type_id, {day}, d.currency
                {IN_KEY_ORDER}
               ON CONFLICT ({KEY}) DO UPDATE SET {add}"""
    return [counts, _repeats_sql(where, tz)]


def counted_insert_sql(insert_sql: str, tz: str) -> str:
    """PostgreSQL: `insert_sql` (an INSERT into deliveries_delivery) that also counts what it inserts
    in the summary, in one statement; its one result row is the number of deliveries inserted.

    The rows come from the INSERT's own RETURNING, so nothing is read back. All parts of one
    statement see the same snapshot, so a repeat is a lead delivered to the partner before this
    statement, or earlier in the same chunk. Its second column lists the partners it touched, for the
    caller to pass to `stamps.changed`.

    The earlier delivery is looked up row by row (a LATERAL with LIMIT 1, on the (entity, lead_id)
    index). As a plain EXISTS, on statistics that lag behind a large import, the planner chose a
    merge semi-join that sorted every delivery of the table for each chunk: 1.6 s of a 5.4 s import
    of 300,000 rows, and growing with the table.
    """
    day = local_day_sql("i.delivered_at", tz)
    add = ", ".join(f"{c} = {SUMMARY}.{c} + excluded.{c}" for c in VALUES.split(", "))
    return f"""
        WITH ins AS (
            {insert_sql}
            RETURNING id, entity_id, partner_id, profile_id, lead_type_id, delivered_at, currency, price_micros, lead_id
        ), counted AS (
            INSERT INTO {SUMMARY} ({KEY}, {VALUES})
            SELECT i.entity_id, i.partner_id, COALESCE(i.profile_id, 0), i.lead_type_id, {day}, i.currency,
                   COUNT(*), COUNT(*), COUNT(i.price_micros), COALESCE(SUM(i.price_micros), 0), 0, 0, 0, 0
              FROM ins i
             GROUP BY i.entity_id, i.partner_id, COALESCE(i.profile_id, 0), i.lead_type_id, {day}, i.currency
             {IN_KEY_ORDER}
            ON CONFLICT ({KEY}) DO UPDATE SET {add}
            RETURNING 1
        ), repeated AS (
            INSERT INTO {REPEATS} (entity_id, partner_id, day, repeats)
            SELECT i.entity_id, i.partner_id, {day}, COUNT(*)
              FROM (SELECT ins.*, ROW_NUMBER() OVER (PARTITION BY partner_id, lead_id ORDER BY id) AS k FROM ins) i
              LEFT JOIN LATERAL (SELECT 1 AS hit FROM deliveries_delivery e
                                  WHERE e.entity_id = i.entity_id AND e.lead_id = i.lead_id
                                    AND e.partner_id = i.partner_id LIMIT 1) earlier ON TRUE
             WHERE i.k > 1 OR earlier.hit IS NOT NULL
             GROUP BY i.entity_id, i.partner_id, {day}
             ORDER BY 1, 2, 3
            ON CONFLICT (entity_id, partner_id, day) DO UPDATE SET repeats = {REPEATS}.repeats + excluded.repeats
            RETURNING 1
        )
        SELECT (SELECT COUNT(*) FROM ins), ARRAY(SELECT DISTINCT partner_id FROM ins)"""


def add_delivery(entity_id: int, tz: str, delivery_id: int) -> None:
    """Count one delivery just recorded (open)."""
    with connection.cursor() as cursor:
        for sql in inserted_statements(tz, "d.entity_id = %s AND d.id = %s"):
            cursor.execute(sql, [entity_id, delivery_id])
        cursor.execute("SELECT partner_id FROM deliveries_delivery WHERE id = %s", [delivery_id])
        stamps.changed(entity_id, [row[0] for row in cursor.fetchall()])


def add_inserted(entity_id: int, tz: str, above_id: int, created_at: datetime | object) -> None:
    """Count deliveries just inserted (ids above `above_id`, stamped `created_at`): all open.

    `created_at` may be a value already adapted for the database (the importer keeps one).
    """
    stamp = _dt(created_at) if isinstance(created_at, datetime) else created_at
    with connection.cursor() as cursor:
        for sql in inserted_statements(tz):
            cursor.execute(sql, [entity_id, above_id, stamp])
        cursor.execute(f"SELECT DISTINCT d.partner_id FROM deliveries_delivery d WHERE {_INSERTED}",
                       [entity_id, above_id, stamp])  # fmt: skip
        stamps.changed(entity_id, [row[0] for row in cursor.fetchall()])


def _state_sql() -> str:
    """A delivery's state from the facts (needs `d` and a LEFT JOIN of its non-void billed lead as `b`)."""
    false = _false()
    return f"""CASE WHEN b.id IS NOT NULL THEN '{BILLED}'
                    WHEN EXISTS (SELECT 1 FROM deliveries_return r
                                  WHERE r.delivery_id = d.id AND r.status = 'accepted') THEN '{RETURNED}'
                    WHEN EXISTS (SELECT 1 FROM invoicing_excludedlead x
                                  WHERE x.delivery_id = d.id AND x.voided = {false}) THEN '{EXCLUDED}'
                    ELSE '{OPEN}' END"""


def recount_sql(where: str, tz: str) -> str:
    """The summary rows of the deliveries `d` matching `where`, counted from the facts."""
    day = local_day_sql("d.delivered_at", tz)

    def when(state: str, then: str = "1", otherwise: str = "0") -> str:
        return f"CASE WHEN x.st = '{state}' THEN {then} ELSE {otherwise} END"

    return f"""SELECT x.entity_id AS entity_id, x.partner_id AS partner_id, x.profile_id AS profile_id,
                      x.lead_type_id AS lead_type_id, x.day AS day, x.currency AS currency, COUNT(*) AS leads,
                      SUM({when(OPEN)}) AS open_leads,
                      SUM(CASE WHEN x.st = '{OPEN}' AND x.price_micros IS NOT NULL THEN 1 ELSE 0 END) AS open_priced,
                      COALESCE(SUM({when(OPEN, "x.price_micros", "NULL")}), 0) AS open_price_micros,
                      SUM({when(BILLED)}) AS billed_leads, COALESCE(SUM(x.billed), 0) AS billed_minor,
                      SUM({when(RETURNED)}) AS returned_leads, SUM({when(EXCLUDED)}) AS excluded_leads
                 FROM (SELECT d.entity_id, d.partner_id, COALESCE(d.profile_id, 0) AS profile_id, d.lead_type_id,
                              {day} AS day, d.currency, d.price_micros, b.amount_minor AS billed, {_state_sql()} AS st
                         FROM deliveries_delivery d
                         LEFT JOIN invoicing_billedlead b ON b.delivery_id = d.id AND b.voided = {_false()}
                        WHERE {where}) x
                WHERE true
                GROUP BY x.entity_id, x.partner_id, x.profile_id, x.lead_type_id, x.day, x.currency
                {IN_KEY_ORDER}"""


def _day_ranges(pairs: Iterable[tuple[int, date]]) -> dict[int, list[tuple[date, date]]]:
    """Partner -> runs of consecutive days [first, end)."""
    by_partner: dict[int, list[date]] = defaultdict(list)
    for partner_id, day in pairs:
        by_partner[partner_id].append(day)
    out: dict[int, list[tuple[date, date]]] = {}
    for partner_id, days in by_partner.items():
        runs: list[tuple[date, date]] = []
        for day in sorted(set(days)):
            if runs and runs[-1][1] == day:
                runs[-1] = (runs[-1][0], day + timedelta(days=1))
            else:
                runs.append((day, day + timedelta(days=1)))
        out[partner_id] = runs
    return out


def touched_days(tz: str, ids_sql: str, params: Sequence[object] = ()) -> list[tuple[int, date]]:
    """(partner, local day) of the deliveries whose ids `ids_sql` selects."""
    day = local_day_sql("d.delivered_at", tz)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT d.partner_id, {day} FROM deliveries_delivery d WHERE d.id IN ({ids_sql})", params
        )
        return [(int(p), as_date(d)) for p, d in cursor.fetchall()]


def refresh(entity_id: int, tz: str, ids_sql: str, params: Sequence[object] = ()) -> None:
    """Recount the partner-days of the deliveries whose ids `ids_sql` selects (after a change to them).

    Cost is that of the partner-days touched (a return: one day; a voided month: the month).
    """
    refresh_days(entity_id, tz, touched_days(tz, ids_sql, params))


INVOICE_LEADS = """SELECT delivery_id FROM invoicing_billedlead WHERE invoice_id = %s
                   UNION SELECT delivery_id FROM invoicing_excludedlead WHERE invoice_id = %s"""


def refresh_days(entity_id: int, tz: str, pairs: Iterable[tuple[int, date]]) -> None:
    """Recount these (partner, local day) pairs from the deliveries: states and repeats."""
    by_partner = _day_ranges(pairs)
    ranges = [(p, first, end) for p, runs in by_partner.items() for first, end in runs]
    zone_info = zone(tz)
    for i in range(0, len(ranges), 200):
        chunk = ranges[i : i + 200]
        clauses, params, wipe, wipe_params = [], [], [], []
        for partner_id, first, end in chunk:
            clauses.append("(d.partner_id = %s AND d.delivered_at >= %s AND d.delivered_at < %s)")
            params += [partner_id, _dt(local_midnight(first, zone_info)), _dt(local_midnight(end, zone_info))]
            wipe.append("(partner_id = %s AND day >= %s AND day < %s)")
            wipe_params += [partner_id, day_param(first), day_param(end)]
        where = f"d.entity_id = %s AND ({' OR '.join(clauses)})"
        with connection.cursor() as cursor:
            for table in (SUMMARY, REPEATS):
                cursor.execute(f"DELETE FROM {table} WHERE entity_id = %s AND ({' OR '.join(wipe)})",
                               [entity_id, *wipe_params])  # fmt: skip
            _upsert(recount_sql(where, tz), [entity_id, *params])
            cursor.execute(_repeats_sql(where, tz), [entity_id, *params])
    stamps.changed(entity_id, by_partner)  # after the writes: outside a transaction a token is written at once


def recount_deliveries(entity_id: int, tz: str, deliveries: Iterable[tuple[int, datetime]]) -> None:
    """Recount the partner-days of these (partner, delivered at) after a change to their deliveries."""
    zone_info = zone(tz)
    refresh_days(entity_id, tz, [(partner_id, at.astimezone(zone_info).date()) for partner_id, at in deliveries])


def record_issue(entity_id: int, allocated_table: str | None, billable_table: str, *, excluded: bool) -> None:
    """Move the leads this issue billed or left out from open to billed (with amounts) or excluded.

    `allocated_table` holds each billed lead with its amount and summary key
    (`invoicing.facts.allocate_billed_leads`); `billable_table` the run's open leads with theirs
    (`materialise_billable`). A non-void excluded lead of the latter can only have been written
    by this transaction (a concurrent run's would have made this one's insert fail on the
    once-only index). One update per partner-day row: the rows exist, their leads were open.

    The moves are grouped in key order and the update walks them in that order through the key
    index, so it reads the summary's index pages one after another rather than at random (and, with
    the nested loop PostgreSQL picks for it, locks the rows in the order an import's upsert does,
    `IN_KEY_ORDER`; a plan choice, not a guarantee: a deadlock is retried). At 1,000,000 leads and
    298,000 partner-days that took the update from 10–12 s to 4–5 s on PostgreSQL (its default
    128 MB of shared buffers, just after the billed leads were written): a hashed grouping had it
    read the key index at random, and PostgreSQL's memoize cache in front of it never hit.
    """
    moves = []
    if allocated_table is not None:
        moves.append((
            f"""SELECT partner_id, profile_raw, lead_type_id, day, currency, COUNT(*) AS n,
                       COUNT(price_micros) AS np, COALESCE(SUM(price_micros), 0) AS sp, SUM(amount_minor) AS bm
                  FROM {allocated_table} GROUP BY partner_id, profile_raw, lead_type_id, day, currency
                 ORDER BY partner_id, profile_raw, lead_type_id, day, currency""",
            "billed_leads = billed_leads + m.n, billed_minor = billed_minor + m.bm",
        ))  # fmt: skip
    if excluded:
        moves.append((
            f"""SELECT t.partner_id, t.profile_raw, t.lead_type_id, t.day, t.currency, COUNT(*) AS n,
                       COUNT(t.price_micros) AS np, COALESCE(SUM(t.price_micros), 0) AS sp, 0 AS bm
                  FROM {billable_table} t JOIN invoicing_excludedlead x
                    ON x.delivery_id = t.delivery_id AND x.voided = {_false()}
                 GROUP BY t.partner_id, t.profile_raw, t.lead_type_id, t.day, t.currency
                 ORDER BY t.partner_id, t.profile_raw, t.lead_type_id, t.day, t.currency""",
            "excluded_leads = excluded_leads + m.n",
        ))  # fmt: skip
    for grouped, into in moves:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {MOVE}")
            cursor.execute(f"CREATE TEMP TABLE {MOVE} AS {grouped}")
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {MOVE}")
                cursor.execute("SET LOCAL enable_memoize = off")  # each key is looked up once
            cursor.execute(
                f"""UPDATE {SUMMARY} SET open_leads = open_leads - m.n, open_priced = open_priced - m.np,
                           open_price_micros = open_price_micros - m.sp, {into}
                      FROM {MOVE} m
                     WHERE {SUMMARY}.entity_id = %s AND {SUMMARY}.partner_id = m.partner_id
                       AND {SUMMARY}.profile_id = m.profile_raw AND {SUMMARY}.lead_type_id = m.lead_type_id
                       AND {SUMMARY}.day = m.day AND {SUMMARY}.currency = m.currency""",
                [entity_id],
            )
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL enable_memoize TO DEFAULT")
            cursor.execute(f"SELECT DISTINCT partner_id FROM {MOVE}")
            stamps.changed(entity_id, [row[0] for row in cursor.fetchall()])
            cursor.execute(f"DROP TABLE {MOVE}")


MOVE = "leadbill_tmp_summary_move"


def rebuild(entity_id: int, tz: str) -> None:
    """Replace the entity's summary with a recount from its deliveries (a new time zone, a repair)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SUMMARY} WHERE entity_id = %s", [entity_id])
        cursor.execute(f"DELETE FROM {REPEATS} WHERE entity_id = %s", [entity_id])
    _upsert(recount_sql("d.entity_id = %s", tz), [entity_id])
    with connection.cursor() as cursor:
        cursor.execute(_repeats_sql("d.entity_id = %s", tz), [entity_id])
    stamps.changed_entity(entity_id)


# --- reads ---------------------------------------------------------------------------------


def earliest_open_day(entity_id: int, end_day: date, partner_ids: Sequence[int] | None, tz: str) -> date | None:
    """The earliest local day before `end_day` with open leads that a run could bill.

    Open leads in another currency than their partner's, or with no sell plan in effect on their
    day (or only a delivered-price plan and no price), stay open, but no run bills them: they are
    anomalies of the period they were delivered in. Counting them would pin every later run's scan
    of the deliveries to the day of the oldest such lead, and the scan would grow with history.
    The plan test is at day grain and errs towards billable (any plan of any scope level whose
    local days touch the row's day), so a lead a run could bill is never left out; a plan added
    later with an earlier start makes such leads billable again, and this finds them.
    """
    partners = (
        "" if partner_ids is None else f"AND s.partner_id IN ({', '.join(str(int(i)) for i in partner_ids) or 'NULL'})"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            # ORDER BY … LIMIT 1 rather than MIN: PostgreSQL walks the open-day index and stops at
            # the first billable row, instead of joining every open row (57 ms → 3 ms at 1M).
            f"""SELECT s.day FROM {SUMMARY} s JOIN partners_partner pa ON pa.id = s.partner_id
                 WHERE s.entity_id = %s AND s.open_leads > 0 AND s.day < %s
                   AND s.currency = pa.currency {partners}
                   AND EXISTS (SELECT 1 FROM catalog_priceplan p
                                WHERE p.partner_id = s.partner_id AND p.side = 'sell'
                                  AND (p.profile_id IS NULL OR p.profile_id = s.profile_id)
                                  AND (p.lead_type_id IS NULL OR p.lead_type_id = s.lead_type_id)
                                  AND (p.model <> 'delivered' OR s.open_priced > 0)
                                  AND {local_day_sql("p.effective_from", tz)} <= s.day
                                  AND (p.effective_to IS NULL OR {local_day_sql("p.effective_to", tz)} >= s.day))
                 ORDER BY s.day LIMIT 1""",
            [entity_id, day_param(end_day)],
        )
        row = cursor.fetchone()
    return as_date(row[0]) if row and row[0] is not None else None


# --- verify --------------------------------------------------------------------------------

Row = tuple[int, int, int, date, str]


def _rows(sql: str, params: Sequence[object]) -> dict[Row, tuple[int, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        out: dict[Row, tuple[int, ...]] = {}
        for partner_id, profile_id, lead_type_id, day, currency, *values in cursor.fetchall():
            counts = tuple(int(v or 0) for v in values)
            if any(counts):
                out[(int(partner_id), int(profile_id), int(lead_type_id), as_date(day), currency)] = counts
        return out


def drift(entity_id: int, tz: str) -> list[str]:
    """Differences between the entity's summary and a recount from its deliveries (empty: none)."""
    stored = _rows(
        f"SELECT partner_id, profile_id, lead_type_id, day, currency, {VALUES} FROM {SUMMARY} WHERE entity_id = %s",
        [entity_id],
    )
    recount = recount_sql("d.entity_id = %s", tz)
    fresh = _rows(f"SELECT partner_id, profile_id, lead_type_id, day, currency, {VALUES} FROM ({recount}) y",
                  [entity_id])  # fmt: skip
    found = []
    names = VALUES.split(", ")
    nothing = (0,) * len(names)
    for key in sorted(set(stored) | set(fresh), key=lambda k: (k[0], k[3], k[1], k[2], k[4])):
        have, want = stored.get(key, nothing), fresh.get(key, nothing)
        if have != want:
            partner_id, profile_id, lead_type_id, day, currency = key
            diffs = ", ".join(f"{n} {h} != {w}" for n, h, w in zip(names, have, want, strict=True) if h != w)
            found.append(
                f"partner {partner_id} profile {profile_id} lead type {lead_type_id} {day} {currency}: "
                f"summary says {diffs} (recounted)"
            )
    found += _repeat_drift(entity_id, tz)
    return found


def _repeat_drift(entity_id: int, tz: str) -> list[str]:
    day = local_day_sql("d.delivered_at", tz)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT partner_id, day, repeats FROM {REPEATS} WHERE entity_id = %s AND repeats <> 0",
                       [entity_id])  # fmt: skip
        stored = {(int(p), as_date(d)): int(n) for p, d, n in cursor.fetchall()}
        cursor.execute(
            f"""SELECT d.partner_id, {day}, COUNT(*) FROM deliveries_delivery d
                 WHERE d.entity_id = %s AND EXISTS (SELECT 1 FROM deliveries_delivery e
                        WHERE e.entity_id = d.entity_id AND e.lead_id = d.lead_id
                          AND e.partner_id = d.partner_id AND e.id < d.id)
                 GROUP BY d.partner_id, {day}""",
            [entity_id],
        )
        fresh = {(int(p), as_date(d)): int(n) for p, d, n in cursor.fetchall()}
    return [
        f"partner {p} {d}: summary says {stored.get((p, d), 0)} repeated leads, recounted {fresh.get((p, d), 0)}"
        for p, d in sorted(set(stored) | set(fresh))
        if stored.get((p, d), 0) != fresh.get((p, d), 0)
    ]
