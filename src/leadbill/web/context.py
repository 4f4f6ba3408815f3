"""Template context for every page: what the signed-in staff member's role lets the page offer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def roles(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "can_write": bool(membership and membership.can("finance")),
        "is_admin": bool(membership and membership.can("admin")),
    }
