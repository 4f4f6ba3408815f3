"""Safety bounds in a run: the partners' history read in batch, the hold, the release, the thresholds.

The rule is pure (`leadbill.domain.bounds`); this module feeds it. `history_of` reads the
history of every partner of a run in four grouped queries, whatever the number of partners
(never one per partner); `held_of` asks the rule about one partner's draft; `safety_release`
records that a person looked at a held document and lets the next run issue it; and
`safety_bounds_set` changes an entity's thresholds. See docs/safety-bounds.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.db import connection, transaction

from leadbill.audit.services import audit_record
from leadbill.domain import bounds as rule
from leadbill.domain import generation
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.periods import Period
from leadbill.domain.text import field_text
from leadbill.entities.models import Entity
from leadbill.invoicing.facts import PARTNER_LIST_MAX
from leadbill.invoicing.models import SafetyRelease
from leadbill.partners.models import Partner

if TYPE_CHECKING:
    from leadbill.invoicing.drafting import PartnerDraft

ISSUED = ("issued", "partially_paid", "paid", "written_off")  # what counts as history: issued, not void
USAGE = (generation.CHARGE, generation.PRIOR_PERIOD)
HISTORY_DAYS = 400  # history is the documents issued in the 13 months before the period's first day, or since


@dataclass
class BoundsHistory:
    """What the bounds need for the partners of one run and period."""

    bounds: rule.Bounds = field(default_factory=rule.Bounds)
    of: dict[int, rule.History] = field(default_factory=dict)
    plan_before: dict[int, tuple[int, ...]] = field(default_factory=dict)  # plan id -> previous version's prices
    released: dict[int, SafetyRelease] = field(default_factory=dict)  # partner id -> its latest release

    def history(self, partner_id: int) -> rule.History:
        return self.of.get(partner_id, rule.NO_HISTORY)


def bounds_of(entity: Entity) -> rule.Bounds:
    return rule.Bounds(
        total_multiple=entity.bound_total_multiple,
        unit_price_multiple=entity.bound_unit_price_multiple,
        limit_minor=entity.bound_limit_minor,
        limit_currency=entity.currency,
    )


def history_of(partners: Sequence[Partner], period: Period) -> BoundsHistory:
    """The run's partners' earlier documents, plan versions and releases for `period`, in four queries.

    History is the partner's issued, not void, run documents (invoices and receipts; manual
    invoices and credit notes are not a yardstick for a run's document) issued from HISTORY_DAYS
    before the period's first day on, so the read stays bounded as years of documents pile up.
    """
    if not partners:
        return BoundsHistory()
    entity = partners[0].entity
    ids = [p.pk for p in partners]
    narrow = len(ids) <= PARTNER_LIST_MAX  # a longer run reads the entity's history whole
    out = BoundsHistory(bounds=bounds_of(entity))
    _documents(entity.pk, ids if narrow else None, period.first_day - timedelta(days=HISTORY_DAYS), out)
    _plans_before(entity.pk, ids if narrow else None, out)
    releases = SafetyRelease.objects.filter(entity_id=entity.pk, period_key=period.key)
    if narrow:
        releases = releases.filter(partner_id__in=ids)
    for release in releases.order_by("released_at", "pk"):
        out.released[release.partner_id] = release  # the latest counts
    return out


USAGE_SQL = ", ".join(f"'{kind}'" for kind in USAGE)


def _history_sql(entity_id: int, ids: Sequence[int] | None, since: date, *, lines: bool) -> tuple[str, list[object]]:
    """SQL of the history documents ranked per partner (rn 1: newest), with their usage line count if `lines`."""
    statuses = ", ".join(["%s"] * len(ISSUED))
    params: list[object] = [entity_id, since, *ISSUED]
    narrow = ""
    if ids is not None:
        narrow = f" AND i.partner_id IN ({', '.join(['%s'] * len(ids))})"
        params += list(ids)
    count = f"SUM(CASE WHEN l.kind IN ({USAGE_SQL}) THEN 1 ELSE 0 END)" if lines else "0"
    join = " LEFT JOIN invoicing_invoiceline l ON l.invoice_id = i.id" if lines else ""
    group = " GROUP BY i.id, i.partner_id, i.currency, i.total_minor, i.issue_date, i.sequence" if lines else ""
    sql = f"""SELECT i.id, i.partner_id, i.currency, i.total_minor, {count} AS n_lines,
                     ROW_NUMBER() OVER (PARTITION BY i.partner_id
                                        ORDER BY i.issue_date DESC, i.sequence DESC, i.id DESC) AS rn
                FROM invoicing_invoice i{join}
               WHERE i.entity_id = %s AND i.issue_date >= %s AND i.status IN ({statuses}) AND i.kind IN ('invoice', 'receipt')
                 AND i.manual = {_false()}{narrow}{group}"""
    return sql, params


def _false() -> str:
    return "false" if connection.vendor == "postgresql" else "0"


def _documents(entity_id: int, ids: Sequence[int] | None, since: date, out: BoundsHistory) -> None:
    """Per partner and currency: documents, the last ones' count and total, most usage lines; scope prices."""
    ranked, params = _history_sql(entity_id, ids, since, lines=True)
    trailing: dict[int, list[rule.Trailing]] = {}
    counts: dict[int, tuple[int, int]] = {}
    recent = rule.TRAILING_DOCUMENTS
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT partner_id, currency, COUNT(*), MAX(n_lines),
                       SUM(CASE WHEN rn <= {recent} THEN 1 ELSE 0 END),
                       SUM(CASE WHEN rn <= {recent} THEN total_minor ELSE 0 END)
                  FROM ({ranked}) r GROUP BY partner_id, currency""",
            params,
        )
        for partner_id, currency, docs, max_lines, n_recent, total_recent in cursor.fetchall():
            docs_before, lines_before = counts.get(partner_id, (0, 0))
            counts[partner_id] = (docs_before + int(docs), max(lines_before, int(max_lines or 0)))
            if n_recent:
                trailing.setdefault(partner_id, []).append(rule.Trailing(currency, int(n_recent), int(total_recent)))
        ranked, params = _history_sql(entity_id, ids, since, lines=False)
        cursor.execute(
            f"""SELECT r.partner_id, l.scope, r.currency, MIN(l.unit_price_micros), MAX(l.unit_price_micros)
                  FROM ({ranked}) r JOIN invoicing_invoiceline l ON l.invoice_id = r.id
                 WHERE r.rn <= {recent} AND l.kind IN ({USAGE_SQL}) AND l.unit_price_micros IS NOT NULL AND l.quantity > 0
                 GROUP BY r.partner_id, l.scope, r.currency""",
            params,
        )
        prices: dict[int, list[rule.ScopePrices]] = {}
        for partner_id, scope, currency, low, high in cursor.fetchall():
            prices.setdefault(partner_id, []).append(rule.ScopePrices(scope, currency, int(low), int(high)))
    for partner_id, (docs, max_lines) in counts.items():
        out.of[partner_id] = rule.History(
            tuple(trailing.get(partner_id, ())), docs, max_lines, tuple(prices.get(partner_id, ()))
        )


def _plans_before(entity_id: int, ids: Sequence[int] | None, out: BoundsHistory) -> None:
    """Each sell plan version's predecessor's prices: the version of the same scope that ended when it began.

    One self-join that returns only the versions that have a predecessor (catalog.services keeps
    `effective_to` as the next version's `effective_from`).
    """
    params: list[object] = [entity_id]
    narrow = ""
    if ids is not None:
        narrow = f" AND prev.partner_id IN ({', '.join(['%s'] * len(ids))})"
        params += list(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT cur.id, prev.config
                  FROM catalog_priceplan prev
                  JOIN catalog_priceplan cur ON cur.partner_id = prev.partner_id AND cur.side = prev.side
                   AND cur.effective_from = prev.effective_to
                   AND COALESCE(cur.profile_id, 0) = COALESCE(prev.profile_id, 0)
                   AND COALESCE(cur.lead_type_id, 0) = COALESCE(prev.lead_type_id, 0)
                 WHERE prev.entity_id = %s AND prev.side = 'sell' AND prev.effective_to IS NOT NULL{narrow}""",
            params,
        )
        for plan_id, config in cursor.fetchall():
            config = json.loads(config) if isinstance(config, str) else config
            prices = rule.plan_prices_micros(config) if isinstance(config, dict) else ()
            if prices:
                out.plan_before[plan_id] = prices


def held_of(pd: PartnerDraft, history: BoundsHistory | None) -> list[str]:
    """Why the partner's document is held back (empty: it may be issued)."""
    if history is None or not pd.draft.lines:
        return []
    lines = []
    for line in pd.draft.lines:
        if line.kind not in USAGE:
            continue
        if line.unit_price is not None:
            prices: tuple[int, ...] = (line.unit_price_micros or 0,)
        else:
            prices = tuple(p for p in (line.price_low_micros, line.price_high_micros) if p is not None)
        before = () if line.over_cap or line.version_id is None else history.plan_before.get(line.version_id, ())
        lines.append(rule.Line(line.scope or "", line.description, prices, before))
    draft = rule.Draft(pd.draft.currency, pd.draft.total_minor, tuple(lines))
    release = history.released.get(pd.partner.pk)
    released = release.total_minor if release is not None and release.currency == pd.draft.currency else None
    return rule.held_reasons(draft, history.history(pd.partner.pk), history.bounds, released)


# --- writes -------------------------------------------------------------------------------------


def safety_release(
    *, actor: str, entity: Entity, partner: Partner, period: Period, reason: str, seen_total_minor: int | None = None
) -> SafetyRelease:
    """Release a partner's held document for `period`: the next run issues it as it is now.

    The document is computed again (a preview of this partner), so the release records the
    total and reasons a person is looking at; `seen_total_minor` (what the page showed) refuses
    the release if the document changed meanwhile. Refused when nothing of the partner is held.
    """
    from leadbill.invoicing.services import invoice_run_preview

    reason = field_text(reason, field="reason", max_length=500)
    if not reason:
        raise DomainError("say why this document may go to the buyer", field="reason")
    if partner.entity_id != entity.pk:
        raise DomainError(f"unknown partner {partner.code!r} in {entity.slug}", field="partner")
    preview = invoice_run_preview(entity=entity, period=period, partners=[partner.code])
    pd = next((d for d in preview.drafts if d.partner.pk == partner.pk), None)
    if pd is None or not pd.held:
        raise StateError(f"nothing of {partner.code} is held for {period.label()}")
    if seen_total_minor is not None and seen_total_minor != pd.draft.total_minor:
        raise StateError(f"{partner.code}'s document changed since it was shown; look at it again before releasing")
    with transaction.atomic():
        release = SafetyRelease.objects.create(
            entity=entity, partner=partner, period_key=period.key, total_minor=pd.draft.total_minor,
            currency=pd.draft.currency, reasons=list(pd.held), reason=reason, released_by=actor,
        )  # fmt: skip
        audit_record(actor=actor, action="safety_bounds.released", obj=release, entity=entity,
                     partner=partner.code, period=period.key, total_minor=release.total_minor,
                     currency=release.currency, reasons=release.reasons, reason=reason)  # fmt: skip
    return release


def safety_bounds_set(
    *, actor: str, entity: Entity, total_multiple: int | None, unit_price_multiple: int | None,
    limit_minor: int | None,
) -> Entity:  # fmt: skip
    """Change the entity's thresholds (None turns a rule off; no limit); only what changed is written."""
    for name, value in (("total_multiple", total_multiple), ("unit_price_multiple", unit_price_multiple)):
        if value is not None and not rule.MIN_MULTIPLE <= value <= rule.MAX_MULTIPLE:
            raise DomainError(f"a multiple from {rule.MIN_MULTIPLE} to {rule.MAX_MULTIPLE}, or none", field=name)
    if limit_minor is not None and not 0 < limit_minor < 2**63:
        raise DomainError("a limit above zero, or none", field="limit")
    wanted = {"bound_total_multiple": total_multiple, "bound_unit_price_multiple": unit_price_multiple,
              "bound_limit_minor": limit_minor}  # fmt: skip
    with transaction.atomic():
        locked = Entity.objects.select_for_update().get(pk=entity.pk)
        changed = {k: v for k, v in wanted.items() if getattr(locked, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(locked, key, value)
            locked.save(update_fields=list(changed))
            audit_record(actor=actor, action="entity.safety_bounds", obj=locked, entity=locked, **changed)
    for key, value in wanted.items():
        setattr(entity, key, value)
    return entity
