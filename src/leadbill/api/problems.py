"""Errors as RFC 9457 problem details (`application/problem+json`).

Every refusal the API gives has the same shape: `type` (a stable URN per kind of
problem), `title`, `status`, `detail` in words a person can act on, and for input
errors `errors`: one item per bad value, with a JSON pointer into the request and,
for batches, the row's index.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

PROBLEM_TYPE = "urn:leadbill:problem:"
MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable input",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}


class ApiProblem(Exception):
    """Raised anywhere under a view; rendered as problem details by the API's handler."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        title: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.title = title or TITLES.get(status, "Error")
        self.extra = extra

    def as_dict(self, instance: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"{PROBLEM_TYPE}{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body

    def response(self, instance: str = "") -> HttpResponse:
        return HttpResponse(
            json.dumps(self.as_dict(instance), ensure_ascii=False, default=str),
            status=self.status,
            content_type=MEDIA_TYPE,
        )


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, "not-found", f"no {what}")


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) to a value of the request."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def error_item(message: str, *parts: str | int, row: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"pointer": pointer(*parts), "field": str(parts[-1]) if parts else "", "message": message}
    if row is not None:
        item["row"] = row
    return item
