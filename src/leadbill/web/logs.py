"""Structured logs: one JSON object a line, with the request's id and the job's id (LEADBILL_LOG_FORMAT=json).

The default stays human lines (the CLI, the demo). In JSON every record carries `request_id`
(from `RequestIdMiddleware`: the caller's X-Request-ID when it is a sane token, else a new
one, sent back in the response's X-Request-ID) and, inside a background job, `job_id`
(`job_context`, entered by the task backend around each job).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("leadbill_request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("leadbill_job_id", default=None)
access_logger = logging.getLogger("leadbill.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class JsonFormatter(logging.Formatter):
    """One line of JSON per record: time, level, logger, message, request_id/job_id when known, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("request_id", request_id), ("job_id", job_id)):
            value = var.get()
            if value is None and key == "request_id":  # Django logs a 4xx/5xx after the middleware returned
                value = getattr(getattr(record, "request", None), "request_id", None)
            if value is not None:
                entry[key] = value
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdMiddleware:
    """Give each request an id for its log lines, and answer it in X-Request-ID.

    With JSON logs it also writes the access line (logger `leadbill.access`, INFO: method, path,
    status, milliseconds, request_id) in place of gunicorn's Apache-style one, which `leadbill
    serve` then leaves out.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.access = getattr(settings, "LEADBILL_LOG_FORMAT", "text") == "json"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        rid = given if _SANE_ID.match(given) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id.set(rid)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            if self.access:
                access_logger.info("%s %s %s", request.method, request.path, response.status_code, extra={"fields": {
                    "method": request.method, "path": request.path, "status": response.status_code,
                    "ms": round((time.monotonic() - started) * 1000, 1)}})  # fmt: skip
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = rid
        return response


@contextlib.contextmanager
def job_context(job: object) -> Iterator[None]:
    """Log lines inside carry `job_id` (the task backend wraps each job in it)."""
    token = job_id.set(str(job))
    try:
        yield
    finally:
        job_id.reset(token)
