"""Drafts kept between writes: the invoice-run preview recomputes only the partners whose billing changed.

Why: with many partners, the preview's cost is per partner, not per delivery. At 1,000,000
deliveries and 10,000 partners (benchmarks/invoice_run.py) it spent about 0.2 s loading the
buyers, 0.4 s reading their summary rows and 0.6–0.9 s drafting them in Python, against 0.2 s for
the bare `GROUP BY` of the same deliveries. The console's dashboard and run page ask for the same
preview again and again, while between two views most partners received nothing.

How it stays true: every committed write to what a partner is billed replaces that partner's
token, or its entity's (`partners.stamps`). The preview reads the tokens first, then the data,
and keeps each draft with the token it read. A kept draft is used only while the partner's token
and the entity's are still the ones it was drafted under, so it is at least as new as every
write since; anything else is drafted again. Every draft also expires after
`LEADBILL_KEEP_DRAFTS_SECONDS`, which bounds what a lost token write (a process killed between a
commit and its after-commit work) could leave.

Only a preview outside any transaction keeps or uses drafts: inside one it may see writes of its
own that a rollback would take back. Issue never uses them: it drafts every partner again, under
its locks.

Kept per process, in memory: the drafts are Python objects (decoding them from a shared store cost
more than drafting them again: 0.7 s for 10,000). Each process fills its own on its first preview
of an entity-period. About `LEADBILL_KEEP_DRAFTS_MAX` partners' drafts are kept (about 5 KB each),
over every entity-period; the least recently used entity-periods are dropped first. Bounded by
drafts rather than by entity-periods: a partner's portal keeps a book of one partner.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from leadbill.domain.periods import Period
from leadbill.entities.models import Entity
from leadbill.invoicing.drafting import PartnerDraft
from leadbill.partners import stamps
from leadbill.partners.models import Partner


@dataclass
class _Kept:
    token: int
    partner: Partner
    at: float
    draft: PartnerDraft | None = None


@dataclass
class _Book:
    """The drafts of one entity-period, valid under one entity token."""

    entity_token: tuple[int, int]
    entries: dict[int, _Kept] = field(default_factory=dict)


_clock = time.monotonic
_books: OrderedDict[tuple[int, str], _Book] = OrderedDict()
_lock = threading.Lock()


def clear() -> None:
    """Forget every kept draft (tests; a database flushed under a running process)."""
    with _lock:
        _books.clear()


def usable() -> bool:
    return settings.LEADBILL_KEEP_DRAFTS_SECONDS > 0 and not connection.in_atomic_block


def _book_key(period: Period) -> str:
    return f"{period.key}|{period.start.isoformat()}|{period.end.isoformat()}"


class View:
    """One preview's use of the kept drafts: the tokens it read before any data, and the book."""

    def __init__(self, entity: Entity, period: Period) -> None:
        self.tokens, entity_token = stamps.tokens(entity.pk)  # first: the data read after is at least this new
        # The caller's entity may have been read before the tokens (a request's middleware): read it again
        # after them, as every other input is, so drafts kept under this entity token are drafted from it.
        self.entity = Entity.objects.get(pk=entity.pk)
        self.now = _clock()
        self.oldest = self.now - settings.LEADBILL_KEEP_DRAFTS_SECONDS
        key = (entity.pk, _book_key(period))
        with _lock:
            book = _books.get(key)
            if book is None or book.entity_token != entity_token:
                book = _books[key] = _Book(entity_token)
            _books.move_to_end(key)
        self.key, self.book = key, book

    def _valid(self, partner_id: int) -> _Kept | None:
        kept = self.book.entries.get(partner_id)
        if kept is None or kept.token != self.tokens.get(partner_id, 0) or kept.at < self.oldest:
            return None
        return kept

    def partners(self, codes: Sequence[str] | None) -> list[Partner]:
        """The entity's buyers (those with these codes), in code order: kept instances where still true."""
        qs = Partner.objects.filter(entity=self.entity, is_buyer=True).order_by("code")
        if codes:
            qs = qs.filter(code__in=codes)
        rows = list(qs.values_list("pk", "code"))
        if codes:
            missing = set(codes) - {code for _, code in rows}
            if missing:
                from leadbill.domain.errors import DomainError

                raise DomainError(f"unknown partner {sorted(missing)[0]!r} in {self.entity.slug}", field="partner")
        found: dict[int, Partner] = {}
        load = []
        for pk, _ in rows:
            kept = self._valid(pk)
            if kept is None:
                load.append(pk)
            else:
                found[pk] = kept.partner
        if load:
            wanted = set(load)
            many = len(load) > 500  # one query over the entity's buyers rather than a list of thousands
            qs = (
                Partner.objects.filter(entity=self.entity, is_buyer=True)
                if many
                else Partner.objects.filter(pk__in=load)
            )
            for partner in qs:
                if partner.pk in wanted:
                    found[partner.pk] = partner
                    self.book.entries[partner.pk] = _Kept(self.tokens.get(partner.pk, 0), partner, self.now)
        out = []
        for pk, _ in rows:
            partner = found.get(pk)
            if partner is not None:  # None: no longer a buyer since the list was read
                partner.entity = self.entity  # one shared instance instead of a joined copy per partner
                out.append(partner)
        return out

    def draft(self, partner_id: int) -> PartnerDraft | None:
        kept = self._valid(partner_id)
        return None if kept is None else kept.draft

    def keep(self, drafts: Sequence[PartnerDraft]) -> None:
        for pd in drafts:
            pk = pd.partner.pk
            self.book.entries[pk] = _Kept(self.tokens.get(pk, 0), pd.partner, self.now, pd)
        _trim(self.key)


def _trim(in_use: tuple[int, str]) -> None:
    """Drop the least recently used entity-periods until about `LEADBILL_KEEP_DRAFTS_MAX` drafts are kept;
    the one in use stays, however large."""
    with _lock:
        while len(_books) > 1 and sum(len(b.entries) for b in _books.values()) > settings.LEADBILL_KEEP_DRAFTS_MAX:
            oldest = next(iter(_books))
            if oldest == in_use:
                _books.move_to_end(oldest)
            else:
                del _books[oldest]


def view(entity: Entity, period: Period) -> View | None:
    """The kept drafts for this preview, or None where they may not be used (inside a transaction)."""
    return View(entity, period) if usable() else None
