"""Bearer API keys, and what each scope may do.

Every resource lookup goes through the key's entity (and, for a partner key, its
partner), so another entity's or partner's objects are simply not found: 404, never
a hint that they exist.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from leadbill.api.keys import api_key_check
from leadbill.api.models import ApiKey, Scope
from leadbill.api.problems import ApiProblem


class KeyAuth(HttpBearer):
    openapi_description = "An API key: `Authorization: Bearer lb_…` (create one with `leadbill apikey create`)."

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return api_key_check(token)


def key_of(request: HttpRequest) -> ApiKey:
    key: Any = request.auth  # type: ignore[attr-defined]
    assert isinstance(key, ApiKey)
    return key


def require(request: HttpRequest, *scopes: str) -> ApiKey:
    """The request's key, if its scope is one of `scopes`; otherwise 403 naming what is needed."""
    key = key_of(request)
    if key.scope not in scopes:
        needed = " or ".join(Scope(s).label.split(":")[0].lower() for s in scopes)
        raise ApiProblem(403, "scope", f"this API key has the {key.scope} scope; this needs a {needed} key")
    return key


FULL = (Scope.FULL,)
INGEST = (Scope.FULL, Scope.INGEST)
READ_DOCUMENTS = (Scope.FULL, Scope.PARTNER)
