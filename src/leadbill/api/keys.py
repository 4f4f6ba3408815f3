"""Creating, revoking and checking API keys (the CLI creates and revokes; the API checks)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from leadbill.api.models import ApiKey, Scope
from leadbill.audit.services import audit_record
from leadbill.domain.errors import DomainError
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner

TOKEN_PREFIX = "lb_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # `last_used_at` is written at most once a minute per key


@dataclass(frozen=True, slots=True)
class NewKey:
    key: ApiKey
    token: str  # shown once; only its hash is stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, actor: str, entity: Entity, name: str, scope: str, partner: Partner | None = None) -> NewKey:
    """A new key; the returned token is the only time the secret exists outside the caller."""
    name = name.strip()
    if not name:
        raise DomainError("give the key a name (who or what uses it)", field="name")
    if len(name) > 100:
        raise DomainError("the name is longer than 100 characters", field="name")
    if scope not in Scope.values:
        raise DomainError(f"scope must be one of {', '.join(Scope.values)}; got {scope!r}", field="scope")
    if scope == Scope.PARTNER and partner is None:
        raise DomainError("a partner key needs the partner it belongs to", field="partner")
    if scope != Scope.PARTNER and partner is not None:
        raise DomainError(f"a {scope} key is for the whole entity; only partner keys name a partner", field="partner")
    if partner is not None and partner.entity_id != entity.pk:
        raise DomainError(f"partner {partner.code!r} belongs to another entity", field="partner")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            entity=entity, partner=partner, name=name, scope=scope, prefix=prefix,
            secret_sha256=_digest(secret), created_by=actor,
        )  # fmt: skip
        audit_record(actor=actor, action="api_key.created", obj=key, entity=entity, name=name, scope=scope,
                     partner=partner.code if partner else None, prefix=prefix)  # fmt: skip
    return NewKey(key, f"{TOKEN_PREFIX}{prefix}_{secret}")


def api_key_revoke(*, actor: str, key: ApiKey) -> ApiKey:
    """Revoke a key: every later request with it is refused. Revoking twice is a no-op."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="api_key.revoked", obj=locked, entity=locked.entity, prefix=locked.prefix)
    key.revoked_at = locked.revoked_at
    return key


def api_key_check(token: str) -> ApiKey | None:
    """The live key a bearer token stands for, or None. Constant-time on the secret."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not secret or len(prefix) != 12:
        return None
    key = ApiKey.objects.select_related("entity", "partner").filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.secret_sha256, _digest(secret)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
