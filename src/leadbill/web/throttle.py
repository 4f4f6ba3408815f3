"""Throttling of sign-in and password reset: too many tries for one account or from one address pause them.

Tries are rows in the database (`LoginFailure`), not a per-process cache, so every gunicorn
worker counts the same ones. Each kind of try has its own limits: a failed sign-in counts
against sign-in, a password reset request against password reset. A successful sign-in
clears the account's failed sign-ins.

Accounts are counted by `account_key`: the name Django signs in with (NFKC, as the sign-in
form's `UsernameField` normalises it), case-folded. Every spelling that can reach an account,
fullwidth letters or another case included, is counted as that one account.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from leadbill.web.models import LoginFailure

SIGN_IN = "signin"
PASSWORD_RESET = "reset"


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    window_seconds: int


def limits(kind: str) -> Limits:
    if kind == SIGN_IN:
        return Limits(settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_FAILURES_PER_ADDRESS,
                      settings.LOGIN_FAILURE_WINDOW_SECONDS)  # fmt: skip
    if kind == PASSWORD_RESET:
        return Limits(settings.PASSWORD_RESETS_PER_ACCOUNT, settings.PASSWORD_RESETS_PER_ADDRESS,
                      settings.PASSWORD_RESET_WINDOW_SECONDS)  # fmt: skip
    raise ValueError(f"unknown kind of try {kind!r}")


def account_key(username: str) -> str:
    """The account a typed name reaches: stripped and NFKC-normalised like Django's sign-in form, then case-folded.

    The form strips the text and applies NFKC before the database lookup, so 'ａｄｍｉｎ@…'
    (fullwidth) signs in as 'admin@…'; the count must not tell them apart. Case-folding on top
    (logins are stored lower-case) also counts 'Admin@…' as the same account.
    """
    name = unicodedata.normalize("NFKC", (username or "").strip())
    return unicodedata.normalize("NFKC", name.casefold()).strip()[:254]


def client_address(request: HttpRequest) -> str:
    if settings.LEADBILL_TRUST_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def wait_seconds(username: str, address: str, kind: str = SIGN_IN) -> int:
    """Seconds until this account and address may try again; 0 when they may now."""
    limit = limits(kind)
    now = timezone.now()
    window = timedelta(seconds=limit.window_seconds)
    recent = LoginFailure.objects.filter(kind=kind, at__gte=now - window)
    waits = []
    for rows, most in (
        (recent.filter(username=account_key(username)), limit.per_account),
        (recent.filter(address=address), limit.per_address),
    ):
        times = list(rows.order_by("-at").values_list("at", flat=True)[:most])
        if len(times) >= most:
            waits.append(int((times[-1] + window - now).total_seconds()) + 1)
    return max(waits, default=0)


def failure_record(username: str, address: str, kind: str = SIGN_IN) -> None:
    """Count one try: a failed sign-in, or a password reset request (whether or not the account exists)."""
    LoginFailure.objects.create(username=account_key(username), address=address, kind=kind, at=timezone.now())


def failures_clear(username: str) -> None:
    """After a successful sign-in: the account's failed sign-ins are forgotten, and every try older than a day."""
    LoginFailure.objects.filter(kind=SIGN_IN, username=account_key(username)).delete()
    LoginFailure.objects.filter(at__lt=timezone.now() - timedelta(days=1)).delete()
