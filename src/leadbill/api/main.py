"""The v1 API: one NinjaAPI, its error handlers, and the routers of each capability."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DataError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.parser import Parser

from leadbill.api.auth import KeyAuth
from leadbill.api.common import json_body, path_parts
from leadbill.api.problems import MEDIA_TYPE, ApiProblem, error_item
from leadbill.api.routers import (
    bank,
    books,
    catalog,
    deliveries,
    invoices,
    ledger,
    payment_files,
    payouts,
    receivables,
    reports,
    returns,
    runs,
    selfbilled,
)
from leadbill.api.schemas import extra_components
from leadbill.contention import transient
from leadbill.domain.errors import DomainError
from leadbill.loader.schema import SetupFileError

logger = logging.getLogger(__name__)

CONFLICT_CODES = {"conflict", "already_returned"}

DESCRIPTION = """\
Push deliveries and returns as they happen; run and read invoices; fetch documents and reports.

* **Keys**: `Authorization: Bearer lb_…`, created with `leadbill apikey create`. A key belongs to
  one entity and has a scope: `ingest` (push deliveries and returns), `full`, or `partner`
  (read one partner's own documents, payouts and report). Another entity's objects are simply not found.
* **Money** is a decimal string (`"12.50"`) next to its ISO 4217 `currency`; never a JSON number.
* **Times** are ISO 8601 with an offset; dates are `YYYY-MM-DD`.
* **Errors** are RFC 9457 problem details (`application/problem+json`) whose `errors` name each
  bad value by JSON pointer (and batch row).
* **Lists** are newest first with keyset pagination: pass `next_cursor` back as `cursor`.
"""


class LeadbillAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """Ninja's schema plus the components of the bodies read by hand (batches, set-up mappings)."""
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {}).update(extra_components())
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(status).startswith("4") and "application/json" in content:
                        content[MEDIA_TYPE] = content.pop("application/json")
        return schema


class JsonParser(Parser):
    """Ninja's schema-validated bodies through the API's one JSON reader (media type checked, 413, 400)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json_body(request, fast=True)


api = LeadbillAPI(
    parser=JsonParser(),
    title="Leadbill API",
    version="1.0",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=KeyAuth(),
    docs=Swagger(settings={"persistAuthorization": True}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)

ROUTERS = (catalog, deliveries, returns, runs, invoices, ledger, receivables, reports, payouts, selfbilled,
           payment_files, bank, books)  # fmt: skip
for module in ROUTERS:
    api.add_router("/", module.router)


def _instance(request: HttpRequest) -> str:
    return request.get_full_path()


@api.exception_handler(ApiProblem)
def _problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
    return exc.response(_instance(request))


@api.exception_handler(DomainError)
def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, SetupFileError):
        errors = [error_item(p.message, *path_parts(p.path)) for p in exc.problems]
        detail = "; ".join(f"{p.path or 'body'}: {p.message}" for p in exc.problems[:5])
        return ApiProblem(422, "invalid", detail, errors=errors).response(_instance(request))
    status = 409 if exc.code in CONFLICT_CODES else 422
    code = "conflict" if status == 409 else exc.code
    errors = [error_item(exc.message, *path_parts(exc.field))] if exc.field else None  # lines[0].x: /lines/0/x
    return ApiProblem(status, code, str(exc), errors=errors).response(_instance(request))


@api.exception_handler(ValidationError)
def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        place = error.get("loc", ("body",))[0]
        loc = [part for part in error.get("loc", ())[1:] if part != "payload"]
        item = error_item(error.get("msg", "invalid"), *loc) if loc else error_item(error.get("msg", "invalid"))
        if place in ("query", "path", "header"):
            item["in"] = place
        errors.append(item)
    detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
    return ApiProblem(422, "invalid", detail, errors=errors).response(_instance(request))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = ApiProblem(
        401, "unauthenticated", "send a valid, unrevoked API key as `Authorization: Bearer lb_…`"
    ).response(_instance(request))
    response["WWW-Authenticate"] = 'Bearer realm="leadbill"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ApiProblem):  # ninja wraps what JsonParser raised in a 400
        return exc.__cause__.response(_instance(request))
    code = "malformed-json" if exc.status_code == 400 else "http"
    detail = "the body is not valid JSON" if "parse request body" in exc.message else exc.message
    return ApiProblem(exc.status_code, code, detail).response(_instance(request))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return ApiProblem(404, "not-found", "no such resource").response(_instance(request))


@api.exception_handler(DataError)
def _data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    logger.warning("database refused a value: %s", exc)
    return ApiProblem(
        422, "invalid", "a value cannot be stored (too long, out of range or with a NUL character)"
    ).response(_instance(request))


@api.exception_handler(OperationalError)
def _busy(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    """A deadlock, a serialization failure or a locked SQLite file: the request's transaction was rolled
    back and may simply be sent again (recording deliveries is idempotent on the external id), so the
    client is told to retry, not that the server is broken. Any other operational error is a 500."""
    if not transient(exc):
        return _server_error(request, exc)
    logger.warning("database busy on %s %s: %s", request.method, request.path, exc)
    response = ApiProblem(
        503, "busy", "the database could not complete this request now (a concurrent write conflicted with it); "
        "its changes were rolled back: send it again"
    ).response(_instance(request))  # fmt: skip
    response["Retry-After"] = "1"
    return response


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API request failed: %s %s", request.method, request.path)
    return ApiProblem(500, "server", "the server failed; the error is logged").response(_instance(request))
