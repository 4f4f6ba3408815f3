"""Probes (/healthz, /readyz), the Prometheus endpoint (/metrics) and JSON logs with request ids."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpResponse
from django.utils import timezone

from leadbill.invoicing.models import InvoiceRun
from leadbill.web import health, metrics
from leadbill.web.logs import JsonFormatter, RequestIdMiddleware, job_context
from tests.factories import make_entity

TOKEN = "scrape-me-0123456789"


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")  # no django_db mark: touching the database would fail the test
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_with_the_database_migrated_and_the_queue_reachable(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"
    assert body["checks"]["queue"].startswith("ok")


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_cannot_be_reached(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "migrations": "unknown", "queue": "unknown"},
    }


@pytest.mark.django_db
def test_readyz_is_503_while_a_migration_is_not_applied(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", [])  # forget an earlier "all applied"
    last = MigrationRecorder.Migration.objects.filter(app="web").order_by("-applied").first()
    assert last is not None
    last.delete()  # as if the release brought a migration nobody ran yet
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 not applied"


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_and_need_the_token_when_set(client, settings):
    settings.LEADBILL_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404
    settings.LEADBILL_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def _scrape(client) -> dict[str, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def _job_table() -> bool:
    """procrastinate's table when the engine's migrations made it (PostgreSQL); else a stand-in made here."""
    if metrics.JOB_TABLE in connection.introspection.table_names():
        return True
    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE {metrics.JOB_TABLE} (id integer PRIMARY KEY, queue_name varchar(128) NOT NULL,"
                    " task_name varchar(128) NOT NULL, status varchar(32) NOT NULL DEFAULT 'todo',"
                    " scheduled_at timestamp NULL)")  # fmt: skip
    return False


@pytest.mark.django_db
def test_scraped_queue_depth_moves_as_jobs_are_queued_and_done(client, settings):
    settings.LEADBILL_METRICS_TOKEN = TOKEN
    real = _job_table()
    todo = 'leadbill_queue_jobs{queue="email",status="todo"}'
    before = _scrape(client)[todo]
    with connection.cursor() as cur:
        for n in range(3):
            cur.execute(f"INSERT INTO {metrics.JOB_TABLE} (id, queue_name, task_name) VALUES (%s, 'email', 'email_send_task')",
                        [900000 + n])  # fmt: skip
    assert _scrape(client)[todo] == before + 3
    with connection.cursor() as cur:  # a retry held back for an hour is not waiting yet
        cur.execute(f"INSERT INTO {metrics.JOB_TABLE} (id, queue_name, task_name, scheduled_at)"
                    " VALUES (899999, 'email', 'email_send_task', %s)", [timezone.now() + timedelta(hours=1)])  # fmt: skip
    scraped = _scrape(client)
    assert scraped[todo] == before + 3
    assert scraped['leadbill_queue_jobs{queue="email",status="scheduled"}'] >= 1
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {metrics.JOB_TABLE} SET status = 'doing' WHERE id = 900000")
    scraped = _scrape(client)
    assert scraped[todo] == before + 2
    assert scraped['leadbill_queue_jobs{queue="email",status="doing"}'] >= 1
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {metrics.JOB_TABLE} SET status = 'succeeded' WHERE id >= 900000")
    scraped = _scrape(client)
    assert scraped[todo] == before
    assert scraped['leadbill_jobs{queue="email",status="succeeded"}'] >= 3
    assert real == (connection.vendor == "postgresql" and metrics.JOB_TABLE in connection.introspection.table_names())


@pytest.mark.django_db
def test_metrics_show_emails_webhooks_runs_ingest_and_job_outcomes(client, settings):
    settings.LEADBILL_METRICS_TOKEN = TOKEN
    entity = make_entity()
    start = timezone.now()
    for seconds in (90, 30):
        run = InvoiceRun.objects.create(entity=entity, period_key="2026-03", period_start=start, period_end=start,
                                        mode="issue", actor="test")  # fmt: skip
        InvoiceRun.objects.filter(pk=run.pk).update(started_at=start, finished_at=start + timedelta(seconds=seconds))
    InvoiceRun.objects.create(entity=entity, period_key="2026-04", period_start=start, period_end=start,
                              mode="issue", actor="test")  # still running: not counted  # fmt: skip
    metrics.job_finished(name="email_send_task", queue="email", seconds=0.3, ok=True)
    metrics.job_finished(name="email_send_task", queue="email", seconds=1.2, ok=False)
    scraped = _scrape(client)
    for status in ("queued", "sending", "sent", "failed", "unknown"):
        assert f'leadbill_emails{{status="{status}"}}' in scraped
    for status in ("queued", "sending", "delivered", "failed"):
        assert f'leadbill_webhook_deliveries{{status="{status}"}}' in scraped
    assert scraped["leadbill_invoice_run_seconds_count"] == 2
    assert scraped["leadbill_invoice_run_seconds_sum"] == 120
    assert "leadbill_ingest_rows_total" in scraped
    assert scraped['leadbill_job_failures_total{queue="email",task="email_send_task"}'] >= 1
    assert scraped['leadbill_job_seconds_count{queue="email",task="email_send_task"}'] >= 2


@pytest.mark.django_db
def test_json_log_lines_carry_the_request_id(client):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("django.request").addHandler(handler)
    try:
        response = client.get("/no-such-page", HTTP_X_REQUEST_ID="req-42")
    finally:
        logging.getLogger("django.request").removeHandler(handler)
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-42"
    line = json.loads(out.getvalue().splitlines()[-1])
    assert line["request_id"] == "req-42"
    assert line["level"] == "WARNING"
    assert "/no-such-page" in line["message"]


def test_json_log_lines_logged_while_a_request_is_served_carry_its_id(rf):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("leadbill.test_operability")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    def view(request):
        log.info("working on it")
        return HttpResponse("ok")

    try:
        response = RequestIdMiddleware(view)(rf.get("/anything", HTTP_X_REQUEST_ID="abc-1"))
    finally:
        log.removeHandler(handler)
        log.setLevel(logging.NOTSET)
    assert response["X-Request-ID"] == "abc-1"
    assert json.loads(out.getvalue()) | {"time": "-"} == {
        "time": "-", "level": "INFO", "logger": "leadbill.test_operability", "message": "working on it",
        "request_id": "abc-1",
    }  # fmt: skip


def test_with_json_logs_each_request_writes_one_access_line_with_its_id(rf, settings):
    settings.LEADBILL_LOG_FORMAT = "json"
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("leadbill.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        RequestIdMiddleware(lambda request: HttpResponse(status=204))(rf.post("/api/v1/x", HTTP_X_REQUEST_ID="r-9"))
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert (line["method"], line["path"], line["status"], line["request_id"]) == ("POST", "/api/v1/x", 204, "r-9")
    assert line["ms"] >= 0


def test_a_request_without_a_sane_id_gets_a_new_one(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert len(response["X-Request-ID"]) == 32


def test_json_log_lines_inside_a_job_carry_the_job_id():
    record = logging.LogRecord("leadbill.mailing", logging.INFO, __file__, 1, "sent %s", ("x",), None)
    with job_context(1234):
        line = json.loads(JsonFormatter().format(record))
    assert line["job_id"] == "1234"
    assert line["message"] == "sent x"
    assert "job_id" not in json.loads(JsonFormatter().format(record))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_the_engine_queue_depth_rises_with_deferred_jobs_and_falls_when_a_worker_ran_them(client, settings):
    """The real thing on PostgreSQL: jobs deferred through the engine's backend, then run by its worker in this process."""
    if connection.vendor != "postgresql":
        pytest.skip("the engine keeps its jobs in PostgreSQL")
    from django.db import transaction

    from leadbill.background import task_named
    from leadbill.engine.worker import run_worker

    settings.LEADBILL_METRICS_TOKEN = TOKEN
    settings.TASKS = {"default": {"BACKEND": "leadbill.engine.backend.ProcrastinateBackend"}}
    todo = 'leadbill_queue_jobs{queue="email",status="todo"}'
    failed = 'leadbill_jobs{queue="email",status="failed"}'
    failures = 'leadbill_job_failures_total{queue="email",task="leadbill.mailing.tasks.email_send_task"}'
    before = _scrape(client)
    with transaction.atomic():
        for missing_send in (10**9, 10**9 + 1, 10**9 + 2):  # no such sends: each job runs and fails
            task_named("email_send_task").enqueue(missing_send)
    queued = _scrape(client)
    assert queued[todo] == before[todo] + 3

    run_worker(queues=["email"], wait=False, install_signal_handlers=False, listen_notify=False)  # until none is left

    done = _scrape(client)
    assert done[todo] == before[todo]
    assert done[failed] == before.get(failed, 0) + 3
    assert done[failures] == before.get(failures, 0) + 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_readyz_on_the_engine_reads_its_jobs_table_and_is_503_without_it(client, settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the engine keeps its jobs in PostgreSQL")
    settings.TASKS = {"default": {"BACKEND": "leadbill.engine.backend.ProcrastinateBackend"}}
    assert client.get("/readyz").json()["checks"]["queue"] == "ok"
    monkeypatch.setattr(metrics, "JOB_TABLE", "procrastinate_jobs_not_there")  # as if the engine's tables were missing
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "queue": "unavailable"}


def test_a_worker_serves_its_job_metrics_on_the_port_it_is_given(monkeypatch):
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("LEADBILL_WORKER_METRICS_PORT", str(port))
    assert metrics.serve_worker_metrics() == port
    metrics.job_finished(name="leadbill.webhooks.tasks.webhook_deliver_task", queue="webhooks", seconds=0.2, ok=True)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    assert 'leadbill_job_seconds_count{queue="webhooks",task="leadbill.webhooks.tasks.webhook_deliver_task"}' in text


def test_a_second_worker_on_the_same_port_works_on_without_metrics(monkeypatch):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("LEADBILL_WORKER_METRICS_PORT", str(taken.getsockname()[1]))
        assert metrics.serve_worker_metrics() is None


def test_a_worker_serves_no_metrics_without_a_port(monkeypatch):
    monkeypatch.delenv("LEADBILL_WORKER_METRICS_PORT", raising=False)
    assert metrics.serve_worker_metrics() is None
