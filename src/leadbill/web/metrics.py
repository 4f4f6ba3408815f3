"""Prometheus metrics (`prometheus_client`): served at /metrics to a scraper holding LEADBILL_METRICS_TOKEN.

Most figures are read from the database when scraped, so every web process answers for the
whole installation, whichever process or machine did the work:

    leadbill_queue_jobs{queue,status}          jobs per queue waiting to run now (todo), running (doing),
                                               or held for later (scheduled: a retry's backoff), from
                                               procrastinate's table (zero when there is none)
    leadbill_jobs{queue,status}                jobs the engine keeps in a final state, per queue: failed,
                                               cancelled, aborted (workers delete the succeeded ones)
    leadbill_emails{status}                    email sends by state (queued, sending, sent, failed, unknown)
    leadbill_webhook_deliveries{status}        webhook deliveries by state
    leadbill_invoice_run_seconds               finished invoice runs: count and total seconds (a summary)
    leadbill_ingest_rows_total                 delivery rows received so far (the deliveries' id
                                               sequence), so rate(...[5m]) is ingest rows per second

Job durations and outcomes are measured where jobs run: the engine's worker calls
`job_finished` after each job (`leadbill_job_seconds{task,queue}` histogram and
`leadbill_job_failures_total{task,queue}`). Inline (the embedded default) that is the web
process itself; a worker process serves its own on LEADBILL_WORKER_METRICS_PORT
(`serve_worker_metrics`), the usual way for processes that serve no HTTP.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)

QUEUES = ("runs", "documents", "email", "webhooks", "default")  # always shown, zero when empty
JOB_TABLE = "procrastinate_jobs"
LIVE = ("todo", "doing", "scheduled")  # the states of a job not done yet

JOB_SECONDS = Histogram(
    "leadbill_job_seconds", "Seconds a background job ran, by task and queue", ["task", "queue"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)  # fmt: skip
JOB_FAILURES = Counter("leadbill_job_failures", "Background jobs that raised, by task and queue", ["task", "queue"])


def job_finished(*, name: str, queue: str, seconds: float, ok: bool) -> None:
    """Record one job run (called by the task backend after each job, whatever its outcome); never raises."""
    try:
        JOB_SECONDS.labels(task=name, queue=queue or "default").observe(max(float(seconds), 0.0))
        if not ok:
            JOB_FAILURES.labels(task=name, queue=queue or "default").inc()
    except Exception:  # metrics must never fail a job
        logger.exception("could not record the job's metrics")


def serve_worker_metrics() -> int | None:
    """Start the worker's own metrics listener on LEADBILL_WORKER_METRICS_PORT (unset: none); returns the port."""
    import os

    from prometheus_client import start_http_server

    port = os.environ.get("LEADBILL_WORKER_METRICS_PORT")
    if not port:
        return None
    try:
        start_http_server(int(port), addr=os.environ.get("LEADBILL_WORKER_METRICS_ADDR", "127.0.0.1"))
    except OSError as exc:  # another worker on this machine has the port: work on, without metrics
        logger.warning("worker metrics not served: port %s: %s (give each worker process its own port)", port, exc)
        return None
    return int(port)


def _job_table_exists() -> bool:
    from django.db import connection

    return JOB_TABLE in connection.introspection.table_names()


def _queue_rows() -> list[tuple[str, str, int]]:
    from django.db import connection

    if not _job_table_exists():
        return []
    with connection.cursor() as cur:
        # a job held for later (scheduled_at ahead: a retry's backoff) is not waiting yet: "scheduled", not "todo"
        cur.execute(
            f"SELECT queue_name, CASE WHEN status = 'todo' AND scheduled_at > CURRENT_TIMESTAMP THEN 'scheduled'"
            f" ELSE CAST(status AS text) END AS state, count(*) FROM {JOB_TABLE} GROUP BY queue_name, state"
        )
        return [(str(q), str(s), int(n)) for q, s, n in cur.fetchall()]


class DatabaseCollector(Collector):
    """The figures read from the database at each scrape (see the module's docstring)."""

    def collect(self) -> Iterator[Metric]:
        from django.db.models import Count, F, Max, Sum

        from leadbill.deliveries.models import Delivery
        from leadbill.invoicing.models import InvoiceRun
        from leadbill.mailing.models import EmailSend, SendState
        from leadbill.webhooks.models import Delivery as WebhookDelivery
        from leadbill.webhooks.models import DeliveryState

        rows = _queue_rows()
        depth = GaugeMetricFamily("leadbill_queue_jobs", "Jobs waiting (todo), running (doing) or held for later "
                                  "(scheduled), by queue", labels=["queue", "status"])  # fmt: skip
        waiting = {(q, s): 0 for q in QUEUES for s in LIVE}
        finals: dict[tuple[str, str], int] = {}
        for queue, status, n in rows:
            if status in LIVE:
                waiting[(queue, status)] = waiting.get((queue, status), 0) + n
            else:
                finals[(queue, status)] = n
        for (queue, status), n in sorted(waiting.items()):
            depth.add_metric([queue, status], n)
        yield depth
        kept = GaugeMetricFamily("leadbill_jobs", "Jobs the engine keeps in a final state, by queue and state",
                                 labels=["queue", "status"])  # fmt: skip
        for (queue, status), n in sorted(finals.items()):
            kept.add_metric([queue, status], n)
        yield kept

        yield _by_state("leadbill_emails", "Email sends by state", EmailSend, [s.value for s in SendState])
        yield _by_state("leadbill_webhook_deliveries", "Webhook deliveries by state", WebhookDelivery,
                        [s.value for s in DeliveryState])  # fmt: skip

        finished = InvoiceRun.objects.filter(finished_at__isnull=False).aggregate(
            n=Count("pk"), seconds=Sum(F("finished_at") - F("started_at"))
        )
        total = finished["seconds"]
        runs = SummaryMetricFamily("leadbill_invoice_run_seconds", "Finished invoice runs: how many, and their seconds")
        runs.add_metric([], count_value=finished["n"] or 0, sum_value=total.total_seconds() if total else 0.0)
        yield runs

        ingest = _counter("leadbill_ingest_rows", "Delivery rows received so far (the deliveries' id sequence)",
                          Delivery.objects.aggregate(last=Max("pk"))["last"] or 0)  # fmt: skip
        yield ingest


def _by_state(name: str, documentation: str, model: Any, states: list[str]) -> Metric:
    from django.db.models import Count

    counts = dict.fromkeys(states, 0)
    counts.update(dict(model.objects.values_list("state").annotate(n=Count("pk")).order_by()))
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for state, n in sorted(counts.items()):
        family.add_metric([state], n)
    return family


def _counter(name: str, documentation: str, value: int) -> Metric:
    from prometheus_client.core import CounterMetricFamily

    return CounterMetricFamily(name, documentation, value=value)


_database = DatabaseCollector()


def scrape() -> bytes:
    """The exposition text: this process's metrics and the database's, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_database)
    return generate_latest(REGISTRY) + generate_latest(registry)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics with `Authorization: Bearer <LEADBILL_METRICS_TOKEN>`; 404 when no token is set (off)."""
    token = getattr(settings, "LEADBILL_METRICS_TOKEN", "")
    if not token:
        return HttpResponse(status=404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("a bearer token is needed\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
