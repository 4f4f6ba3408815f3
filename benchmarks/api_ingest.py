"""Benchmark: deliveries pushed over HTTP in batches, against a raw COPY of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadbill_bench python benchmarks/api_ingest.py [--rows 500000]

The database is dropped and created afresh, migrated, and given an entity with
partners, profiles, lead types and a full API key. Then, in the same run:

- raw: the rows, already resolved to ids and micro-units, `COPY`ed straight into
  deliveries_delivery (its indexes and foreign keys) in one transaction, then removed;
- http: the same rows as JSON batches (`--batch`, default 1,000) POSTed to
  /api/v1/deliveries/batch on gunicorn (`--workers`, default 2) over loopback, from a
  separate load process with `--clients` concurrent connections.

Prints rows/s of both and the ratio http/raw (goal: >= 0.5). A replayed batch must
create nothing, and every row must have been created exactly once.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from import_deliveries import PARTNERS, PRICES, PROFILES_PER_PARTNER, fresh_database, setup_data, time_table


def rows_and_resolved(count: int, ids: dict[str, int], resolved: Path) -> list[dict[str, object]]:
    """The deliveries as the API takes them, and the same rows resolved for the raw COPY."""
    rnd = random.Random(20260101)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stamp = datetime.now(UTC).isoformat(" ")
    rows: list[dict[str, object]] = []
    with resolved.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        for i in range(count):
            p = rnd.randrange(PARTNERS)
            profile = f"campaign-{p}-{rnd.randrange(PROFILES_PER_PARTNER)}" if i % 3 else None
            lead_type = "auto" if i % 4 else "home"
            lead_id = f"lead-{rnd.randrange(10**12)}"
            at = (start + timedelta(seconds=i * 2)).isoformat()
            price = rnd.choice(PRICES)
            zip_code, state = f"{rnd.randrange(10000, 99999)}", rnd.choice(("CA", "NY", "TX"))
            supplied = i % 2 == 0
            row: dict[str, object] = {
                "external_id": f"D{i:09d}", "partner": f"buyer-{p}", "lead_type": lead_type, "lead_id": lead_id,
                "delivered_at": at, "price": price, "currency": "EUR", "fields": {"zip": zip_code, "state": state},
            }  # fmt: skip
            if profile:
                row["profile"] = profile
            if supplied:
                row["source"], row["cost"] = "supplier-1", "0.4"
            rows.append(row)
            writer.writerow(
                [
                    ids["entity"], stamp, f"D{i:09d}", ids[f"buyer-{p}"], ids[profile] if profile else "",
                    ids[lead_type], lead_id, at, int(Decimal(price) * 1_000_000), "EUR",
                    json.dumps({"zip": zip_code, "state": state}), ids["supplier-1"] if supplied else "",
                    400_000 if supplied else "",
                ]
            )  # fmt: skip
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(port: int, token: str, body: bytes) -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request("POST", "/api/v1/deliveries/batch", body=body,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def load(port: int, token: str, bodies: list[bytes], clients: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The load process: POST every batch with `clients` concurrent connections; report the wall time."""
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda body: post(port, token, body), bodies))
    elapsed = time.perf_counter() - start
    created = sum(int(r.get("created", 0)) for status, r in results if status == 200)  # type: ignore[call-overload]
    bad = [(status, r) for status, r in results if status != 200 or r.get("rejected")]
    queue.put((elapsed, created, bad[:3]))


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (it is dropped and created afresh)")
    os.environ["DATABASE_URL"] = fresh_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from leadbill.api.keys import api_key_create
    from leadbill.deliveries.models import Delivery

    call_command("migrate", verbosity=0, interactive=False)
    entity, ids = setup_data()
    token = api_key_create(actor="bench", entity=entity, name="bench", scope="full").token

    with tempfile.TemporaryDirectory() as tmp:
        resolved = Path(tmp) / "resolved.csv"
        t0 = time.perf_counter()
        rows = rows_and_resolved(args.rows, ids, resolved)
        bodies = [
            json.dumps({"deliveries": rows[i : i + args.batch]}).encode() for i in range(0, len(rows), args.batch)
        ]
        size = sum(map(len, bodies)) / 1e6
        print(f"{args.rows:,} deliveries, {len(bodies):,} batches of {args.batch:,} ({size:.0f} MB JSON), "
              f"made in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        raw_s = time_table(resolved)
    connection.close()

    port = free_port()
    env = {**os.environ, "DB_CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING"}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "leadbill.config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
         "--timeout", "300", "--worker-tmp-dir", "/dev/shm"],
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_ready(port, server)
        warm = [{**rows[0], "external_id": f"warm-{i}"} for i in range(50)]
        for _ in range(args.workers * 2):
            post(port, token, json.dumps({"deliveries": warm}).encode())
        queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()  # type: ignore[type-arg]
        loader = multiprocessing.get_context("fork").Process(
            target=load, args=(port, token, bodies, args.clients, queue)
        )
        loader.start()
        http_s, created, bad = queue.get()
        loader.join()
        replay_status, replay = post(port, token, bodies[0])
    finally:
        server.terminate()
        server.wait()

    if bad or created != args.rows:
        raise SystemExit(f"created {created:,} of {args.rows:,}; refused: {bad}")
    if (
        replay_status != 200
        or replay.get("created") != 0
        or replay.get("already_present") != min(args.batch, args.rows)
    ):
        raise SystemExit(f"a replayed batch was not a no-op: {replay_status} {replay}")
    stored = Delivery.objects.filter(entity=entity).exclude(external_id__startswith="warm-").count()
    if stored != args.rows:
        raise SystemExit(f"{stored:,} deliveries stored, expected {args.rows:,}")

    http_rate, raw_rate = args.rows / http_s, args.rows / raw_s
    print(f"{'raw COPY of resolved rows into deliveries_delivery':<56} {raw_s:7.2f} s {raw_rate:10,.0f} rows/s")
    print(f"{f'HTTP batches, gunicorn {args.workers} workers, {args.clients} clients':<56} {http_s:7.2f} s "
          f"{http_rate:10,.0f} rows/s")  # fmt: skip
    print(f"ratio http / raw COPY: {http_rate / raw_rate:.2f}  (goal >= 0.5); replayed batch: created 0, "
          f"already present {replay['already_present']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
