"""A scheduled monthly run end to end with 1 and 2 workers: generate, render, send to a local SMTP sink.

    .venv/bin/python benchmarks/scheduled_run.py --partners 10000 [--workers 1,2] [--concurrency 4] [--db bench_sched]

PostgreSQL database `bench_sched` (created fresh; --db names another), tasks on the engine
(procrastinate, LEADBILL_TASK_BACKEND=engine). For each worker count, a fresh entity
with N partners (3 deliveries each in October 2026) and a monthly schedule; then
`leadbill scheduler --once` queues the run and `leadbill worker` processes (1, then 2,
each --concurrency jobs at a time) do everything: issue in chunks, render Factur-X + UBL, email each invoice to an aiosmtpd
sink in this process. Timed from the tick to the last email accepted by the sink.
Baseline in the same run: the synchronous `invoice_run_issue` for the same partners
(issue only, no rendering or email), so the ratio shows what the queue and the
documents add.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partners", type=int, default=10000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--concurrency", type=int, default=4, help="jobs at a time per worker process")
    ap.add_argument("--db", default="bench_sched", help="PostgreSQL database to create afresh (dropped first)")
    args = ap.parse_args()
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", args.db], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
    os.environ.update({"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}", "DJANGO_SETTINGS_MODULE": "leadbill.config.settings",
                       "LEADBILL_WEBHOOKS_ALLOW_HTTP": "1"})  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from aiosmtpd.controller import Controller

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            return "250 2.0.0 Ok"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "LEADBILL_TASK_BACKEND": "engine", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port),
           "EMAIL_USE_TLS": "0", "LEADBILL_WORKER_CONCURRENCY": str(args.concurrency)}  # fmt: skip

    baseline = _baseline(args.partners)
    print(
        f"baseline: invoice_run_issue inline, issue only: {args.partners / baseline:.0f} invoices/s ({baseline:.1f} s)"
    )
    results = {}
    for n in [int(x) for x in args.workers.split(",")]:
        entity = _world(args.partners, f"w{n}")
        from leadbill.scheduling.services import schedule_set

        schedule_set(actor="bench", entity=entity, frequency="monthly")
        from leadbill.scheduling.models import Schedule

        Schedule.objects.filter(entity=entity).update(active_from=datetime(2026, 10, 20, tzinfo=UTC))
        Sink.count = 0
        workers = [subprocess.Popen([sys.executable, "-m", "leadbill.cli.main", "worker"], env=env,
                                    stdout=subprocess.DEVNULL) for _ in range(n)]  # fmt: skip
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "leadbill.cli.main", "scheduler", "--once"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        while Sink.count < args.partners:
            time.sleep(0.2)
            if all(w.poll() is not None for w in workers):
                break
        elapsed = time.perf_counter() - started
        for w in workers:
            w.send_signal(signal.SIGTERM)  # finish what is in hand (the webhooks-free run has nothing left), stop
        for w in workers:
            w.wait(timeout=600)
        results[n] = elapsed
        print(f"{n} worker(s): {Sink.count} invoices issued, rendered and emailed in {elapsed:.1f} s = "
              f"{Sink.count / elapsed:.1f} invoices/s ({elapsed / baseline:.1f}x the issue-only baseline)")  # fmt: skip
    if 1 in results and 2 in results:
        print(f"speed-up with 2 workers: {results[1] / results[2]:.2f}x")
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    controller.stop()
    return 0


def _world(partners: int, tag: str):
    from leadbill.catalog.models import LeadType
    from leadbill.catalog.services import price_plan_set
    from leadbill.deliveries.models import Delivery
    from leadbill.entities.models import Entity
    from leadbill.entities.services import ensure_series
    from leadbill.partners.models import Partner

    entity = Entity.objects.create(slug=f"bench-{tag}", legal_name=f"Bench {tag} Ltd", country="DE", currency="EUR",
                                   timezone="UTC", invoice_prefix=f"{tag.upper()}-", credit_note_prefix=f"{tag.upper()}C-",
                                   address_line1="1 Road", city="Berlin", postal_code="10115", tax_id="DE123456788")  # fmt: skip
    ensure_series(entity)
    lead_type = LeadType.objects.create(entity=entity, code="auto", name="Auto")
    rows = [Partner(entity=entity, code=f"p{i:05d}", name=f"Partner {i}", currency="EUR", country="DE",
                    address_line1="2 Road", city="Hamburg", postal_code="20095",
                    billing_emails=[f"ap{i}@example.test"]) for i in range(partners)]  # fmt: skip
    Partner.objects.bulk_create(rows, batch_size=2000)
    made = list(Partner.objects.filter(entity=entity))
    for p in made:
        price_plan_set(actor="bench", partner=p, model="flat", config={"price": "1.50"},
                       effective_from=datetime(2020, 1, 1, tzinfo=UTC))  # fmt: skip
    at = datetime(2026, 10, 5, tzinfo=UTC)
    deliveries = [Delivery(entity=entity, partner=p, lead_type=lead_type, external_id=f"{tag}-{p.pk}-{k}",
                           lead_id=f"{tag}-{p.pk}-{k}", delivered_at=at, currency="EUR")
                  for p in made for k in range(3)]  # fmt: skip
    Delivery.objects.bulk_create(deliveries, batch_size=5000)
    return entity


def _baseline(partners: int) -> float:
    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue

    entity = _world(partners, "base")
    started = time.perf_counter()
    invoice_run_issue(actor="bench", entity=entity, period=periods.month(2026, 10, "UTC"))
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
