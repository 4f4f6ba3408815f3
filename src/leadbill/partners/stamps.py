"""Which partners' billing changed: a token per partner that every committed write replaces.

The invoice-run preview keeps each partner's draft between requests (`invoicing.kept`) and
recomputes only the partners whose token is no longer the one it drafted under. So every write
to what a partner would be billed must replace that partner's token. Two places see every such
write, and both call `changed` inside the write's transaction:

- the billing summary (`deliveries.summary`): every delivery inserted, returned, billed, voided
  or recounted, with the partners it touched;
- the audit trail: every write that matters records an audit row in its transaction (the
  architecture's rule), and `from_audit` reads the partner off the row's object. A row whose
  object names no partner changes the token of its whole entity (a new tax rate, a lead type,
  a run), except the imports whose partners the summary already named.

The tokens are written after commit, in one short statement of their own, for three reasons:
a write's own transaction never holds a lock on them (a payment does not wait for an import of
the same partner); a rolled-back write leaves none behind; and no one can read a token whose
data is not committed yet. A preview that reads the tokens first and the data after can only
keep a draft that is newer than its token, never older; the next preview then recomputes it.
If a process dies between a commit and its tokens, the kept drafts expire (`invoicing.kept.TTL`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from leadbill.partners.models import BillingStamp, Partner

log = logging.getLogger(__name__)

WHOLE_ENTITY = 0
EVERY_ENTITY = 0

# Imports and batches record one audit row on the entity (or on the queued file, before any delivery is
# written); the billing summary names the partners of what they write.
SUMMARY_NAMES_PARTNERS = frozenset(
    {"deliveries.import_queued", "deliveries.imported", "deliveries.received", "returns.imported"}
)

# What these objects change (plans, lead types) reaches beyond their own partner: the preview's
# grouping follows the scopes plans exist at in the whole entity (`invoicing.facts.plan_levels`).
ENTITY_WIDE_OBJECTS = frozenset({"catalog.priceplan", "catalog.leadtype"})


class _Flush:
    """One transaction's partners, whose tokens are written once it commits (an on-commit callback).

    The partners live on the callback, not in a per-thread set: a rollback that discards the callback
    discards them with it, and a transaction opened inside another's on-commit callbacks (an inline
    task) has a callback of its own and cannot take or drop the first one's partners.
    """

    def __init__(self) -> None:
        self.pending: set[tuple[int, int]] = set()

    def __call__(self) -> None:
        write(self.pending)


def changed(entity_id: int, partner_ids: Iterable[int]) -> None:
    """These partners' billing changed in the current transaction: new tokens once it commits.

    Call it after the writes: outside a transaction (autocommit) the tokens are written at once.
    """
    rows = {(int(entity_id), int(p)) for p in partner_ids}
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        write(rows)  # autocommit: the write is committed already
        return
    # One callback per transaction: Django's savepoint rollback scans every callback, so a callback per
    # call made a file of many refused rows quadratic. A savepoint rolled back takes the callback it
    # registered (and the partners on it) with it, and then the next call registers a new one. That
    # loses nothing: a call that found the callback registered in a savepoint still open is itself
    # inside that savepoint, so its write is rolled back too.
    registered = next((func for _, func, _ in getattr(conn, "run_on_commit", ()) if isinstance(func, _Flush)), None)
    if registered is None:
        registered = _Flush()
        transaction.on_commit(registered, robust=True)
    registered.pending |= rows


def changed_entity(entity_id: int | None) -> None:
    """Something every partner of the entity (None: of every entity) is billed by changed."""
    changed(EVERY_ENTITY if entity_id is None else entity_id, [WHOLE_ENTITY])


def write(rows: Iterable[tuple[int, int]]) -> None:
    """Give these (entity, partner) pairs one new random token (after commit).

    A token is random, not a counter, so that no token is ever given twice, even by a database
    whose rows were rolled back or flushed since.
    """
    rows = sorted(set(rows))  # one order for every writer: concurrent writes wait, never deadlock
    if not rows:
        return
    token = secrets.randbits(62) + 1
    table = BillingStamp._meta.db_table
    with connection.cursor() as cursor:
        for i in range(0, len(rows), 5000):
            chunk = rows[i : i + 5000]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"""INSERT INTO {table} (entity_id, partner_id, token) VALUES {values}
                    ON CONFLICT (entity_id, partner_id) DO UPDATE SET token = excluded.token""",
                [v for entity_id, partner_id in chunk for v in (entity_id, partner_id, token)],
            )


def tokens(entity_id: int) -> tuple[dict[int, int], tuple[int, int]]:
    """(partner id -> token, (the entity's own token, the token of every entity)) as committed now.

    A partner never stamped has token 0.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT entity_id, partner_id, token FROM {BillingStamp._meta.db_table} "
            "WHERE entity_id = %s OR (entity_id = %s AND partner_id = %s)",
            [entity_id, EVERY_ENTITY, WHOLE_ENTITY],
        )
        rows = cursor.fetchall()
    per_partner = {int(p): int(t) for e, p, t in rows if e == entity_id and p != WHOLE_ENTITY}
    entity_token = next((int(t) for e, p, t in rows if e == entity_id and p == WHOLE_ENTITY), 0)
    every_token = next((int(t) for e, p, t in rows if e == EVERY_ENTITY and p == WHOLE_ENTITY), 0)
    return per_partner, (entity_token, every_token)


def partner_of(obj: Any) -> int | None:
    """The partner an audited object belongs to, without a query (None: it names none)."""
    if isinstance(obj, Partner):
        return int(obj.pk)
    partner_id = getattr(obj, "partner_id", None)
    if isinstance(partner_id, int):
        return partner_id
    state = getattr(obj, "_state", None)
    for related in getattr(state, "fields_cache", {}).values():  # e.g. a return's delivery, already loaded
        partner_id = getattr(related, "partner_id", None)
        if isinstance(partner_id, int):
            return partner_id
    return None


def from_audit(pairs: list[tuple[Any, Any]]) -> None:
    """Audit subscriber: each audited write changes its partner's token, or its entity's."""
    by_entity: dict[int, set[int]] = {}
    for event, obj in pairs:
        partner_id = None if event.object_type in ENTITY_WIDE_OBJECTS else partner_of(obj)
        if partner_id is not None and event.entity_id is not None:
            by_entity.setdefault(event.entity_id, set()).add(partner_id)
        elif event.action not in SUMMARY_NAMES_PARTNERS:
            changed_entity(event.entity_id)
    for entity_id, partner_ids in by_entity.items():
        changed(entity_id, partner_ids)
