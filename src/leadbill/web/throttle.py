"""Sign-in throttling: too many failures for one account or from one address pause sign-in.

Failures are rows in the database, not a per-process cache, so every gunicorn worker
counts the same ones. A successful sign-in clears the account's failures.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from leadbill.web.models import LoginFailure


def client_address(request: HttpRequest) -> str:
    if settings.LEADBILL_TRUST_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def wait_seconds(username: str, address: str) -> int:
    """Seconds until this account and address may try again; 0 when they may now."""
    now = timezone.now()
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=now - window)
    waits = []
    for rows, limit in (
        (recent.filter(username=username.strip().lower()), settings.LOGIN_FAILURES_PER_ACCOUNT),
        (recent.filter(address=address), settings.LOGIN_FAILURES_PER_ADDRESS),
    ):
        times = list(rows.order_by("-at").values_list("at", flat=True)[:limit])
        if len(times) >= limit:
            waits.append(int((times[-1] + window - now).total_seconds()) + 1)
    return max(waits, default=0)


def failure_record(username: str, address: str) -> None:
    LoginFailure.objects.create(username=username.strip().lower()[:254], address=address, at=timezone.now())


def failures_clear(username: str) -> None:
    LoginFailure.objects.filter(username=username.strip().lower()).delete()
    LoginFailure.objects.filter(at__lt=timezone.now() - timedelta(days=1)).delete()
