"""Console page speed: the deliveries log, the invoice list and the global search over a large PostgreSQL data set.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_console python benchmarks/console_pages.py [--rebuild]

Unlike the other benchmarks this one keeps its database: the data set takes a minute or two
to build, so it is built once in the database DATABASE_URL names (created if missing) and
reused while that database still holds it (same parameters, same row counts); `--rebuild`
drops and builds it again. Migrations are applied on every run, so an index added in a migration is measured
on the cached data without a rebuild.

The data set: one entity (Europe/Berlin) loaded from a generated set-up file with 5 lead types
and --partners buyers (flat or graduated plans, 14/30/60-day terms, 2 profiles each);
--deliveries deliveries COPYed in time order over --months calendar months (Dec 2025 to Oct
2026 by default), 1 % of them returned after their month (70 % accepted, 20 % requested, 10 %
rejected); one real invoice run per month but the last (the last month stays unbilled), so
about partners x (months - 1) invoices, the accepted returns credited on the next invoice;
then invoices paid except a tenth of the partners and the last run (some of them overdue by
now); VACUUM ANALYZE.

The pages are timed in-process with Django's test Client (server time: middleware, session,
view, template; no network, no connection set-up), signed in as a read-only staff member:
one warm-up request, then --requests requests per URL; median and p95. The raw baseline of
each URL is the page's own main query (the one on deliveries_delivery / invoicing_invoice /
partners_partner, captured with CaptureQueriesContext) run on a bare psycopg cursor, median of
as many runs. The search cases look up a lead id and an external id from the middle of the
table, an issued invoice's number, a partner-name prefix, and a word that matches nothing.
Goal: every URL answers in < 300 ms (p95). For a URL over the goal the script prints its
slowest query with EXPLAIN (ANALYZE, BUFFERS).
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

GOAL_MS = 300.0
DATASET_VERSION = 1  # bump when the way the data set is built changes: cached databases are rebuilt
MARKER = "bench_console_dataset"  # the parameters and counts of the cached data set
TZ = "Europe/Berlin"
LEAD_TYPES = (("auto", "Auto insurance", 50), ("home", "Home insurance", 25), ("health", "Health", 15),
              ("life", "Life", 7), ("solar", "Solar", 3))  # fmt: skip
PROFILES = (("web", "Web forms"), ("call", "Call centre"))
TERMS = (14, 30, 60)
TIERS = [{"up_to": 50, "price": "4.00"}, {"up_to": 100, "price": "3.00"}, {"up_to": None, "price": "2.00"}]
PASSWORD = "a-long-bench-password-1"
USER = "bench@example.com"


# --- the database ------------------------------------------------------------------------


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def _cached(url: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The marker of a complete data set built with these parameters, if the database still holds it."""
    import psycopg

    try:
        conn = psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)
    except psycopg.OperationalError:
        return None
    with conn:
        if conn.execute("SELECT to_regclass(%s)", [MARKER]).fetchone()[0] is None:  # type: ignore[index]
            return None
        row = conn.execute(f"SELECT params, counts FROM {MARKER}").fetchone()
        if row is None or row[0] != params:
            return None
        counts = row[1]
        deliveries = conn.execute("SELECT count(*) FROM deliveries_delivery").fetchone()[0]  # type: ignore[index]
        invoices = conn.execute("SELECT count(*) FROM invoicing_invoice").fetchone()[0]  # type: ignore[index]
        if (deliveries, invoices) != (counts["deliveries"], counts["invoices"]):
            return None
        return dict(counts)


def _recreate(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- the data set ------------------------------------------------------------------------


def month_list(months: int) -> list[tuple[int, int]]:
    """`months` calendar months ending October 2026 (all closed, so all can be invoiced)."""
    out, y, m = [], 2026, 10
    for _ in range(months):
        out.append((y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def setup_yaml(partners: int) -> str:
    """The set-up file: one entity, its lead types, `partners` buyers with profiles and a plan each."""
    partner_specs = []
    for i in range(partners):
        plan: dict[str, Any] = (
            {"model": "flat", "price": "2.50", "from": "2025-01-01"}
            if i % 2 == 0
            else {"model": "graduated", "tiers": TIERS, "from": "2025-01-01"}
        )
        partner_specs.append({
            "code": f"p{i:04d}", "name": f"Buyer {i:04d}", "payment_terms_days": TERMS[i % len(TERMS)],
            "billing_emails": [f"ap{i}@buyer.example"], "address": {"city": "Berlin", "country": "DE"},
            "profiles": [{"code": code, "name": name} for code, name in PROFILES], "plans": [plan],
        })  # fmt: skip
    document = {
        "version": 1,
        "entities": [{
            "slug": "bench", "legal_name": "Bench Leads GmbH",
            "address": {"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
            "tax_id": "DE811223345", "currency": "EUR", "timezone": TZ, "invoice_prefix": "B-",
            "payment_terms_days": 30, "tax_rate": 19,
            "lead_types": [{"code": code, "name": name} for code, name, _ in LEAD_TYPES],
            "partners": partner_specs,
        }],
    }  # fmt: skip
    return json.dumps(document)  # JSON is YAML


def build(args: argparse.Namespace) -> dict[str, Any]:
    """Fill the (empty, migrated) database; returns its counts."""
    from django.db import connection

    from leadbill.catalog.models import LeadType
    from leadbill.domain import periods
    from leadbill.entities.models import Entity
    from leadbill.invoicing.services import invoice_run_issue
    from leadbill.loader.services import setup_load, setup_read
    from leadbill.partners.models import Partner, Profile

    t0 = time.perf_counter()
    result = setup_load(actor="bench", document=setup_read(setup_yaml(args.partners)))
    entity = Entity.objects.get(slug="bench")
    print(f"  set-up file: {result.created:,} objects in {time.perf_counter() - t0:.1f} s")

    t = time.perf_counter()
    partner_ids = list(Partner.objects.filter(entity=entity).order_by("code").values_list("id", flat=True))
    profiles: dict[int, list[int]] = {}
    for pk, partner_id in Profile.objects.filter(partner__entity=entity).values_list("id", "partner_id"):
        profiles.setdefault(partner_id, []).append(pk)
    type_ids = dict(LeadType.objects.filter(entity=entity).values_list("code", "id"))
    type_choices = [type_ids[code] for code, _, weight in LEAD_TYPES for _ in range(weight)]
    months = month_list(args.months)
    first, last = periods.month(*months[0], TZ), periods.month(*months[-1], TZ)
    start, span = first.start, (last.end - first.start).total_seconds()
    step = span / args.deliveries
    rng = random.Random(20261121)
    created = datetime.now(UTC)
    cols = ("entity_id, external_id, partner_id, profile_id, lead_type_id, lead_id, delivered_at, price_micros, "
            "currency, fields, created_at")  # fmt: skip
    with connection.cursor() as cur, cur.cursor.copy(f"COPY deliveries_delivery ({cols}) FROM STDIN") as copy:
        for n in range(args.deliveries):
            partner = partner_ids[rng.randrange(len(partner_ids))]
            own = profiles[partner]
            copy.write_row((
                entity.pk, f"D{n:09d}", partner, own[n % 3] if n % 3 < len(own) else None,
                type_choices[rng.randrange(100)], f"L{n:09d}", start + timedelta(seconds=(n + rng.random()) * step),
                rng.randrange(1_000_000, 9_000_000), "EUR",
                f'{{"state": "{rng.choice("BY BE HH NW")}", "zip": "{rng.randrange(10000, 99999)}"}}', created,
            ))  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("ANALYZE deliveries_delivery")
    print(f"  {args.deliveries:,} deliveries COPYed in {time.perf_counter() - t:.1f} s")

    def returns_of(period: periods.Period) -> None:
        """1 % of a month's deliveries returned in the days after it (70 % accepted, 20 % open, 10 % rejected)."""
        with connection.cursor() as cur:
            cur.execute(
                """INSERT INTO deliveries_return (entity_id, delivery_id, reason, status, requested_at, decided_at,
                          decided_by, decision_note)
                   SELECT entity_id, id, 'bad phone number',
                          CASE WHEN (id / 100) %% 10 < 7 THEN 'accepted' WHEN (id / 100) %% 10 < 9 THEN 'requested'
                               ELSE 'rejected' END,
                          %(end)s + interval '1 day', CASE WHEN (id / 100) %% 10 IN (7, 8) THEN NULL
                          ELSE %(end)s + interval '2 days' END,
                          CASE WHEN (id / 100) %% 10 IN (7, 8) THEN '' ELSE 'bench' END, ''
                     FROM deliveries_delivery
                    WHERE entity_id = %(entity)s AND delivered_at >= %(start)s AND delivered_at < %(end)s
                      AND id %% 100 = 0""",
                {"entity": entity.pk, "start": period.start, "end": period.end},
            )  # fmt: skip

    for y, m in months[:-1]:
        t = time.perf_counter()
        period = periods.month(y, m, TZ)
        issue_date = period.end_day
        run = invoice_run_issue(actor="bench", entity=entity, period=period, issue_date=issue_date)
        if run.failures:
            raise SystemExit(f"invoice run {period.key} failed for {len(run.failures)} partners: "
                             f"{list(run.failures.items())[:3]}")  # fmt: skip
        returns_of(period)
        with connection.cursor() as cur:  # months apart in real life: autovacuum would have analyzed
            cur.execute("ANALYZE deliveries_delivery, deliveries_return, invoicing_billedlead, invoicing_invoice")
        print(f"  invoice run {period.key}: {len(run.issued):,} invoices in {time.perf_counter() - t:.1f} s")
    returns_of(periods.month(*months[-1], TZ))

    t = time.perf_counter()
    last_run_issue = periods.month(*months[-2], TZ).end_day
    with connection.cursor() as cur:
        # Payments in full, as payment_record writes them (less its audit row), for every invoice
        # but those of one partner in ten and those of the last run.
        cur.execute(
            """WITH paid AS (
                 UPDATE invoicing_invoice i SET paid_minor = i.total_minor, status = 'paid'
                   FROM partners_partner p
                  WHERE p.id = i.partner_id AND i.entity_id = %s AND i.kind = 'invoice' AND i.status = 'issued'
                    AND i.total_minor > 0 AND i.issue_date < %s AND substr(p.code, 2)::int %% 10 <> 0
              RETURNING i.id, i.total_minor, i.due_date)
               INSERT INTO invoicing_payment (invoice_id, amount_minor, paid_on, reference, recorded_by, created_at)
               SELECT id, total_minor, due_date - 3, 'bank ' || id, 'bench', now() FROM paid""",
            [entity.pk, last_run_issue],
        )  # fmt: skip
        paid = cur.rowcount
    connection.close()  # VACUUM cannot run in a transaction block: autocommit on a fresh connection
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"  {paid:,} invoices paid, VACUUM ANALYZE in {time.perf_counter() - t:.1f} s")
    return counts(entity.pk)


def counts(entity_id: int) -> dict[str, Any]:
    from django.db import connection

    from leadbill.domain.periods import zone

    today = datetime.now(zone(TZ)).date()
    with connection.cursor() as cur:
        cur.execute(
            """SELECT (SELECT count(*) FROM deliveries_delivery),
                      (SELECT count(*) FROM invoicing_invoice),
                      (SELECT count(*) FROM partners_partner WHERE entity_id = %s),
                      (SELECT count(*) FROM deliveries_return),
                      (SELECT count(*) FROM invoicing_billedlead WHERE NOT voided),
                      (SELECT count(*) FROM invoicing_invoice WHERE status = 'issued'),
                      (SELECT count(*) FROM invoicing_invoice WHERE status = 'paid'),
                      (SELECT count(*) FROM invoicing_invoice WHERE status = 'issued' AND kind = 'invoice'
                          AND due_date < %s AND total_minor > paid_minor)""",
            [entity_id, today],
        )
        row = cur.fetchone()
    keys = ("deliveries", "invoices", "partners", "returns", "billed_leads", "issued", "paid", "overdue")
    return dict(zip(keys, row, strict=True))


# --- the pages ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 20 samples is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(len(ordered) * q / 100))) - 1]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def next_link(page: str, url: str) -> str | None:
    """The page's "next" link: the first link whose query string has `after=`."""
    for href in re.findall(r'href="([^"]*)"', page):
        href = html.unescape(href)
        if re.search(r"[?&]after=", href):
            return urljoin(url, href)
    return None


def main_query(queries: list[dict[str, str]], table: str) -> dict[str, str] | None:
    """The page's main query: the slowest one that reads `table` (the list itself, not a count or lookup)."""
    reading = [q for q in queries if f'"{table}"' in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT")]
    listing = [q for q in reading if " LIMIT " in q["sql"].upper()] or reading
    return max(listing, key=lambda q: float(q["time"]), default=None)


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")  # type: ignore[arg-type]
        return "\n".join(row[0] for row in cur.cursor.fetchall())


def _an_invoice_number(entity_id: int) -> str:
    """An issued invoice's number from the middle of the entity's series (for the search)."""
    from leadbill.invoicing.models import Invoice

    numbers = Invoice.objects.filter(entity_id=entity_id, number__isnull=False).order_by("pk")
    count = numbers.count()
    return str(numbers.values_list("number", flat=True)[count // 2]) if count else "B-000001"


def measure_pages(args: argparse.Namespace, counts_now: dict[str, Any]) -> int:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from leadbill.entities.models import Entity
    from leadbill.web.models import StaffMembership
    from leadbill.web.services import staff_add

    entity = Entity.objects.get(slug="bench")
    try:
        deliveries_url = reverse("console:deliveries", kwargs={"entity": entity.slug})
        invoices_url = reverse("console:invoices", kwargs={"entity": entity.slug})
        search_url = reverse("console:search", kwargs={"entity": entity.slug})
    except NoReverseMatch:
        print("\nthe console's deliveries and invoices pages are not there yet; the data set is ready.")
        return 0
    if not StaffMembership.objects.filter(user__username=USER, entity=entity).exists():
        staff_add(actor="bench", entity=entity, email=USER, name="Bench", role="readonly", password=PASSWORD)
    client = Client(SERVER_NAME="localhost")  # an allowed host without touching settings
    client.force_login(User.objects.get(username=USER))

    partner = "p0007"  # a typical buyer: ~1,000 deliveries, 10 invoices
    d, i, s = deliveries_url, invoices_url, search_url
    middle = f"{counts_now['deliveries'] // 2:09d}"  # a lead in the middle of the table (ids are L/D + 9 digits)
    number = _an_invoice_number(entity.pk)
    cases: list[tuple[str, str, str]] = [  # (label, url, the table of the page's main query)
        ("deliveries", d, "deliveries_delivery"),
        ("deliveries ?partner", f"{d}?partner={partner}", "deliveries_delivery"),
        ("deliveries ?partner&from&to", f"{d}?partner={partner}&from=2026-06-01&to=2026-06-30", "deliveries_delivery"),
        ("deliveries ?lead_type (3 %)", f"{d}?lead_type=solar", "deliveries_delivery"),
        ("deliveries ?status=returned", f"{d}?status=returned", "deliveries_delivery"),
        ("deliveries ?status=unbilled", f"{d}?status=unbilled", "deliveries_delivery"),
        ("deliveries ?status=billed", f"{d}?status=billed", "deliveries_delivery"),
        ("deliveries ?status=return_requested", f"{d}?status=return_requested", "deliveries_delivery"),
        ("deliveries, page 2", "next:" + d, "deliveries_delivery"),
        ("invoices", i, "invoicing_invoice"),
        ("invoices ?partner", f"{i}?partner={partner}", "invoicing_invoice"),
        ("invoices ?status=issued", f"{i}?status=issued", "invoicing_invoice"),
        ("invoices ?status=overdue", f"{i}?status=overdue", "invoicing_invoice"),
        ("invoices, page 2", "next:" + i, "invoicing_invoice"),
        ("deliveries ?from&to (a month)", f"{d}?from=2026-06-01&to=2026-06-30", "deliveries_delivery"),
        ("deliveries ?lead_type&from&to", f"{d}?lead_type=auto&from=2026-06-01&to=2026-06-30", "deliveries_delivery"),
        ("search: lead id", f"{s}?q=L{middle}", "deliveries_delivery"),
        ("search: external id", f"{s}?q=D{middle}", "deliveries_delivery"),
        ("search: invoice number", f"{s}?q={number}", "invoicing_invoice"),
        ("search: partner name prefix", f"{s}?q=Buyer+04", "partners_partner"),
        ("search: nothing found", f"{s}?q=no-such-thing", "deliveries_delivery"),
    ]  # fmt: skip
    # Filters that match little or nothing in a long range: a keyset page then reads the whole
    # range looking for 51 rows. Every closed month is invoiced, the last month is not.
    worst: list[tuple[str, str, str]] = [
        ("unbilled, closed months (0 rows)", f"{d}?status=unbilled&to=2026-09-30", "deliveries_delivery"),
        ("billed, open month (0 rows)", f"{d}?status=billed&from=2026-10-01&to=2026-10-31", "deliveries_delivery"),
        ("lead_type & return_requested", f"{d}?lead_type=solar&status=return_requested", "deliveries_delivery"),
        ("invoices ?status=void (0 rows)", f"{i}?status=void", "invoicing_invoice"),
    ]  # fmt: skip

    def measure(url: str, table: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
        response = client.get(url)  # warm-up, and the check that it is a real page
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries = list(captured.captured_queries)  # now: the next request clears the log
        times = timed(lambda: client.get(url), args.requests)
        main = main_query(queries, table)
        raw_times: list[float] = []
        if main is not None:

            def run_raw(sql: str = main["sql"]) -> None:
                with connection.cursor() as cur:
                    cur.cursor.execute(sql)  # type: ignore[arg-type]
                    cur.cursor.fetchall()

            run_raw()
            raw_times = timed(run_raw, args.requests)
        body = response.content.decode()
        return {
            "median": statistics.median(times), "p95": percentile(times, 95), "queries": len(queries),
            "sql_ms": sum(float(q["time"]) for q in queries) * 1000, "kb": len(response.content) / 1024,
            "raw": statistics.median(raw_times) if raw_times else None, "rows": body.count("<tr") - 1 - body.count('class="empty"'),
        }, queries  # fmt: skip

    print(f"\n{args.requests} requests per URL after one warm-up; Django test Client in-process (server time);\n"
          f"raw = the page's main query on a bare psycopg cursor (median); ratio = page median / raw; "
          f"sql = all the page's queries in one request; goal: p95 < {GOAL_MS:.0f} ms; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")  # fmt: skip
    head = (f"{'page':<36} {'median':>7} {'p95':>7} {'raw':>7} {'ratio':>6} {'queries':>7} {'sql':>6} {'rows':>4} "
            f"{'KB':>4}  goal")  # fmt: skip
    failed, slow = 0, []
    for group, title in ((cases, "the pages"), (worst, "worst cases: filters matching little in a long range")):
        print(f"\n{title}\n{head}\n{'-' * len(head)}")
        for label, url, table in group:
            if args.only and args.only not in label:
                continue
            if url.startswith("next:"):
                url = next_link(client.get(url[5:]).content.decode(), url[5:]) or ""
                if not url:
                    print(f"{label:<36} no link with after= on the first page")
                    failed += 1
                    continue
            r, queries = measure(url, table)
            ok = r["p95"] < GOAL_MS
            failed += not ok
            if not ok:
                slow.append((label, url, queries))
            raw = f"{r['raw']:7.1f}" if r["raw"] is not None else "      -"
            ratio = f"{r['median'] / r['raw']:5.1f}x" if r["raw"] else "     -"
            print(f"{label:<36} {r['median']:7.1f} {r['p95']:7.1f} {raw} {ratio} {r['queries']:>7} {r['sql_ms']:6.0f} "
                  f"{r['rows']:>4} {r['kb']:4.0f}  {'PASS' if ok else 'FAIL'}")  # fmt: skip
    print("(times in ms; rows = table rows on the page)")
    for label, url, queries in slow:
        q = max(queries, key=lambda q: float(q["time"]))
        print(f"\n=== {label}: {url} is over {GOAL_MS:.0f} ms; its slowest query ({float(q['time']) * 1000:.0f} ms):")
        print(q["sql"])
        print(explain(q["sql"]))
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--months", type=int, default=11, help="months of deliveries; all but the last invoiced")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per URL")
    parser.add_argument("--rebuild", action="store_true", help="drop and build the data set even if cached")
    parser.add_argument("--only", default="", help="measure only the URLs whose label contains this text")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (it keeps the data set between runs)")
    if args.months < 2:
        raise SystemExit("--months must be at least 2 (the last month stays unbilled)")
    params = {"version": DATASET_VERSION, "deliveries": args.deliveries, "partners": args.partners,
              "months": args.months}  # fmt: skip
    cached = None if args.rebuild else _cached(url, params)
    if cached is None:
        _recreate(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    import django

    django.setup()
    from django.db import connection

    _migrate()
    if cached is None:
        print(f"building the data set in {connection.settings_dict['NAME']} ...")
        t = time.perf_counter()
        data = build(args)
        with connection.cursor() as cur:
            cur.execute(f"CREATE TABLE {MARKER} (params jsonb, counts jsonb)")
            cur.execute(f"INSERT INTO {MARKER} VALUES (%s, %s)", [json.dumps(params), json.dumps(data)])
        print(f"built in {time.perf_counter() - t:.0f} s")
    else:
        print(f"reusing the data set in {connection.settings_dict['NAME']} (--rebuild builds it again)")
        with connection.cursor() as cur:
            cur.execute("ANALYZE")  # cheap, and statistics for any index a new migration added
        data = counts(_entity_id())
    print("data set: " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in data.items()))
    return measure_pages(args, data)


def _entity_id() -> int:
    from leadbill.entities.models import Entity

    return int(Entity.objects.get(slug="bench").pk)


if __name__ == "__main__":
    sys.exit(main())
