"""Writes of payouts: computing them from deliveries, making them by hand, their lifecycle.

Every write has one shape (STYLE 9): one transaction, an audit row in it, side effects
after commit. A payout moves draft → pending → ready → paid, or is cancelled; reaching
"ready" is what generates its self-billed documents, in the same transaction, when the
entity's switch is on and the partner has opted in with complete details. Otherwise the
payout records why, and the partner may upload its own invoice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.catalog.models import LeadType, PlanSide, PricePlan
from leadbill.deliveries.models import Delivery, Return, ReturnStatus
from leadbill.domain import generation
from leadbill.domain import payouts as p
from leadbill.domain import selfbilling as sb
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.money import unit_price_to_micros
from leadbill.domain.periods import Period
from leadbill.domain.pricing import DeliveredPrice, model_from_config
from leadbill.domain.tax import rate_from_bp
from leadbill.domain.text import field_text
from leadbill.entities.models import Entity
from leadbill.invoicing.services import check_period_ended, today_in
from leadbill.partners.models import Partner
from leadbill.payouts.models import DeductedLead, Origin, PaidLead, Payout, PayoutLine
from leadbill.payouts.selectors import unsent_file_item
from leadbill.selfbilling.issuing import invoice_rate_bp, reverse_document, self_bill
from leadbill.selfbilling.models import SelfBilledDocument
from leadbill.selfbilling.selectors import acceptance_blockers

COST = "cost"  # the scope suffix of leads priced at their recorded cost
MAX_QUANTITY = 10_000_000  # per manual line; with MAX_UNIT_PRICE a line stays far inside a 64-bit amount
MAX_UNIT_PRICE = Decimal(1_000_000)


def _bp(rate: Decimal) -> int:
    return int(rate * 100)


# --- computing payouts from deliveries ----------------------------------------------------


@dataclass
class _Lead:
    pk: int
    delivered_at: datetime
    lead_type_id: int
    cost_micros: int | None
    currency: str


@dataclass
class _Facts:
    """What one supplier is owed in one currency: usage groups with their leads, deductions."""

    currency: str
    usage: list[generation.UsageGroup] = field(default_factory=list)
    leads: dict[tuple[str, str, int], list[_Lead]] = field(default_factory=dict)  # (bucket, scope, version)
    deductions: list[p.Deduction] = field(default_factory=list)
    deducted: dict[str, list[tuple[PaidLead, Return]]] = field(default_factory=dict)  # description → leads
    anomalies: list[str] = field(default_factory=list)


def _buy_plans(partner: Partner) -> list[PricePlan]:
    return list(PricePlan.objects.filter(partner=partner, side=PlanSide.BUY).order_by("effective_from", "pk"))


def _plan_for(plans: Sequence[PricePlan], lead: _Lead) -> PricePlan | None:
    """The supplier's buy plan in effect at the lead's time: a lead type's own plan before the partner-wide one."""
    best: PricePlan | None = None
    for plan in plans:
        if plan.profile_id is not None:
            continue  # profiles are a buyer's; a buy plan is the supplier's, by lead type at most
        if plan.lead_type_id not in (None, lead.lead_type_id):
            continue
        if plan.effective_from > lead.delivered_at or (plan.effective_to and plan.effective_to <= lead.delivered_at):
            continue
        if best is None or (plan.lead_type_id is not None and best.lead_type_id is None):
            best = plan
    return best


def _unpaid_leads(partner: Partner, period: Period) -> list[_Lead]:
    """Leads bought from the partner up to the period's end that no live payout pays, never returned."""
    paid = PaidLead.objects.filter(delivery=OuterRef("pk"), voided=False)
    returned = Return.objects.filter(delivery=OuterRef("pk"), status=ReturnStatus.ACCEPTED)
    rows = (
        Delivery.objects.filter(source=partner, delivered_at__lt=period.end)
        .filter(~Exists(paid), ~Exists(returned))
        .order_by("delivered_at", "pk")
        .values_list("pk", "delivered_at", "lead_type_id", "cost_micros", "currency")
    )
    return [_Lead(*row) for row in rows]


def _facts(partner: Partner, period: Period) -> dict[str, _Facts]:
    plans = _buy_plans(partner)
    lead_types = {lt.pk: lt for lt in LeadType.objects.filter(entity_id=partner.entity_id)}
    names = {lt.code: lt.name for lt in lead_types.values()}
    by_currency: dict[str, _Facts] = {}
    groups: dict[tuple[str, bool, str, str, int], list[_Lead]] = defaultdict(list)
    versions: dict[int, generation.PlanVersion] = {}
    unpriced: dict[int, list[_Lead]] = defaultdict(list)
    cost_version = generation.PlanVersion(0, DeliveredPrice(), datetime.min.replace(tzinfo=UTC))
    for lead in _unpaid_leads(partner, period):
        if lead.cost_micros is not None:
            currency, version = lead.currency, cost_version
            scope = f"{lead_types[lead.lead_type_id].code}:{COST}"
        else:
            plan = _plan_for(plans, lead)
            if plan is None:
                unpriced[lead.lead_type_id].append(lead)
                continue
            if plan.pk not in versions:
                versions[plan.pk] = generation.PlanVersion(
                    plan.pk, model_from_config(plan.model, plan.config), plan.effective_from
                )
            currency, version, scope = partner.currency, versions[plan.pk], lead_types[lead.lead_type_id].code
        prior = lead.delivered_at < period.start
        bucket = generation.EARLIER if prior else period.key
        groups[(currency, prior, bucket, scope, version.id)].append(lead)
        by_currency.setdefault(currency, _Facts(currency))
    for (currency, prior, bucket, scope, version_id), leads in sorted(groups.items()):
        version = cost_version if version_id == 0 else versions[version_id]
        label = f"Leads supplied \u2014 {names[scope.split(':')[0]]}"
        facts = by_currency[currency]
        facts.usage.append(
            generation.UsageGroup(
                scope=scope, scope_label=label, bucket=bucket, version=version, count=len(leads),
                price_sum_micros=sum(lead.cost_micros or 0 for lead in leads), prior=prior,
            )
        )  # fmt: skip
        facts.leads[(bucket, scope, version_id)] = leads
    for lead_type_id, leads in unpriced.items():
        name = lead_types[lead_type_id].name
        facts = by_currency.setdefault(partner.currency, _Facts(partner.currency))
        facts.anomalies.append(
            f"{len(leads)} lead(s) of {name} have no recorded cost and no supplier price plan is in effect for "
            f"them (first delivered {leads[0].delivered_at:%Y-%m-%d %H:%M} UTC): left out until one is set"
        )
    _deductions(partner, by_currency)
    return by_currency


def _deductions(partner: Partner, by_currency: dict[str, _Facts]) -> None:
    """Accepted returns of leads an earlier payout (pending, ready or paid) already pays."""
    deducted = DeductedLead.objects.filter(paid=OuterRef("pk"), voided=False)
    rows = (
        PaidLead.objects.filter(voided=False, payout__partner=partner)
        .filter(payout__status__in=[p.PENDING, p.READY, p.PAID])
        .filter(~Exists(deducted))
        .filter(Exists(Return.objects.filter(delivery=OuterRef("delivery"), status=ReturnStatus.ACCEPTED)))
        .select_related("payout")
        .order_by("payout__period_start", "payout_id", "delivery_id")
    )
    paid_leads = list(rows)
    if not paid_leads:
        return
    returns = {
        r.delivery_id: r
        for r in Return.objects.filter(
            delivery_id__in=[pl.delivery_id for pl in paid_leads], status=ReturnStatus.ACCEPTED
        )
    }
    invoices = {
        doc.payout_id: doc
        for doc in SelfBilledDocument.objects.filter(
            payout_id__in={pl.payout_id for pl in paid_leads}, role=sb.INVOICE
        ).order_by(F("reversed_at").asc(nulls_last=True), "pk")  # the live one last: the one kept
    }
    grouped: dict[tuple[str, int], list[PaidLead]] = defaultdict(list)
    for pl in paid_leads:
        grouped[(pl.payout.currency, pl.payout_id)].append(pl)
    for (currency, payout_id), leads in grouped.items():
        original = leads[0].payout
        doc = invoices.get(payout_id)
        where = f"payout {original.period_key}" + (f", self-invoice {doc.number}" if doc else "")
        description = f"Returned leads paid out on {where}"
        rate = rate_from_bp(invoice_rate_bp(doc)) if doc else Decimal(0)
        facts = by_currency.setdefault(currency, _Facts(currency))
        facts.deductions.append(p.Deduction(description, len(leads), sum(pl.amount_minor for pl in leads), rate))
        facts.deducted[description] = [(pl, returns[pl.delivery_id]) for pl in leads]


def _lines_and_leads(payout: Payout, draft: p.PayoutDraft, facts: _Facts) -> None:
    """Persist the draft's lines and every lead's share (paid) or deduction, checked against the lines."""
    lines, paid, deducted = [], [], []
    for position, dl in enumerate(draft.lines, start=1):
        line = PayoutLine(
            payout=payout, position=position, kind=dl.kind, description=dl.description, quantity=dl.quantity,
            unit_price_micros=dl.unit_price_micros, amount_minor=dl.amount_minor, tax_rate_bp=_bp(dl.tax_rate),
            scope=dl.scope or "", bucket=dl.bucket or "", plan_id=dl.version_id or None,
            rank_from=dl.rank_from, rank_to=dl.rank_to,
        )  # fmt: skip
        lines.append((line, dl))
    PayoutLine.objects.bulk_create([line for line, _ in lines])
    for line, dl in lines:
        if dl.kind == p.DEDUCTION:
            for pl, ret in facts.deducted[dl.description]:
                deducted.append(DeductedLead(paid=pl, ret=ret, payout=payout, line=line, amount_minor=pl.amount_minor))
            continue
        leads = facts.leads[(dl.bucket or "", dl.scope or "", dl.version_id or 0)]
        assert dl.rank_from is not None and dl.rank_to is not None
        chosen = leads[dl.rank_from - 1 : dl.rank_to] if dl.unit_price is not None else leads
        amounts = generation.per_lead_amounts(
            dl, payout.currency, [lead.cost_micros or 0 for lead in chosen] if dl.unit_price is None else ()
        )
        if len(amounts) != len(chosen) or sum(amounts) != dl.amount_minor:
            raise RuntimeError(f"payout {payout.pk}: per-lead amounts do not add up to line {line.position}")
        paid += [
            PaidLead(delivery_id=lead.pk, payout=payout, line=line, amount_minor=amount)
            for lead, amount in zip(chosen, amounts, strict=True)
        ]
    PaidLead.objects.bulk_create(paid, batch_size=2000)
    DeductedLead.objects.bulk_create(deducted, batch_size=2000)


@dataclass
class ComputeResult:
    created: list[Payout] = field(default_factory=list)
    refreshed: list[Payout] = field(default_factory=list)
    kept: list[Payout] = field(default_factory=list)  # already past draft: left as they are
    empty: list[str] = field(default_factory=list)  # partner codes with nothing to pay


def payout_compute(
    *,
    actor: str,
    entity: Entity,
    period: Period,
    partners: Sequence[Partner] | None = None,
    allow_open_period: bool = False,
) -> ComputeResult:
    """Payouts for the period from the deliveries naming each supplier as their source.

    A supplier's draft payout of the period is computed afresh (its leads released first);
    one that is pending, ready or paid is kept as it is: later facts go to a later payout.
    A draft whose leads are all gone is deleted, or, back from a dispute (its reversed documents
    name it), kept at nothing: its figures always match its lines.
    """
    check_period_ended(entity, period, allow_open_period, document="payout")
    suppliers = list(partners) if partners is not None else list(
        Partner.objects.filter(entity=entity, is_supplier=True, is_active=True).order_by("code")
    )  # fmt: skip
    result = ComputeResult()
    for partner in suppliers:
        if partner.entity_id != entity.pk:
            raise DomainError(f"partner {partner.code!r} belongs to another entity", field="partner")
        if not partner.is_supplier:
            raise DomainError(f"partner {partner.code!r} does not supply leads", field="partner")
        with transaction.atomic():
            Partner.objects.select_for_update().get(pk=partner.pk)  # one computation per supplier at a time
            existing = {
                po.currency: po
                for po in Payout.objects.select_for_update().filter(partner=partner, period_key=period.key)
                .exclude(status=p.CANCELLED)
            }  # fmt: skip
            for po in existing.values():
                if po.status == p.DRAFT and po.origin == Origin.COMPUTED:
                    _release(po)
            facts = _facts(partner, period)
            for currency, found in sorted(facts.items()):
                current = existing.get(currency)
                if current is not None and (current.status != p.DRAFT or current.origin != Origin.COMPUTED):
                    result.kept.append(current)
                    continue
                draft = p.compute(currency=currency, usage=found.usage, deductions=found.deductions)
                if draft.is_empty and not found.anomalies:
                    continue
                now = timezone.now()
                payout = current or Payout(
                    entity=entity, partner=partner, period_key=period.key, period_start=period.start,
                    period_end=period.end, period_first_day=period.first_day, period_last_day=period.last_day,
                    currency=currency, origin=Origin.COMPUTED, created_by=actor, created_at=now,
                )  # fmt: skip
                payout.amount_minor = payout.total_minor = draft.amount_minor
                payout.leads_paid, payout.leads_deducted = draft.leads_paid, draft.leads_deducted
                payout.anomalies, payout.updated_at = found.anomalies, now
                payout.save()
                _lines_and_leads(payout, draft, found)
                audit_record(actor=actor, action="payout.computed", obj=payout, partner=partner.code,
                             period=period.key, currency=currency, amount_minor=payout.amount_minor,
                             leads=draft.leads_paid, deducted=draft.leads_deducted,
                             refreshed=current is not None)  # fmt: skip
                (result.refreshed if current is not None else result.created).append(payout)
            for currency, po in existing.items():
                if currency in facts:
                    continue  # refreshed or kept above
                if po.status != p.DRAFT or po.origin != Origin.COMPUTED:
                    result.kept.append(po)  # under review or made by hand: never touched by a computation
                elif SelfBilledDocument.objects.filter(payout=po).exists():
                    # Back from a dispute with all its leads gone: its reversed documents keep it, paying nothing.
                    po.amount_minor = po.tax_minor = po.total_minor = po.leads_paid = po.leads_deducted = 0
                    po.anomalies, po.updated_at = [], timezone.now()
                    po.save()
                    audit_record(actor=actor, action="payout.computed", obj=po, partner=partner.code,
                                 period=period.key, currency=currency, amount_minor=0, leads=0, deducted=0,
                                 refreshed=True)  # fmt: skip
                    result.refreshed.append(po)
                else:
                    # A draft whose leads are all gone (returned, or paid on another payout).
                    audit_record(actor=actor, action="payout.discarded", obj=po, partner=partner.code,
                                 period=period.key, currency=currency)  # fmt: skip
                    po.delete()
            if not facts and all(po.status == p.DRAFT and po.origin == Origin.COMPUTED for po in existing.values()):
                result.empty.append(partner.code)
    return result


def _release(payout: Payout) -> None:
    """Free a draft's leads and deductions so it can be computed again."""
    PaidLead.objects.filter(payout=payout).delete()
    DeductedLead.objects.filter(payout=payout).delete()
    payout.lines.all().delete()


# --- payouts made by hand or over the API --------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManualLine:
    description: str
    quantity: int
    unit_price: Decimal


def payout_create(
    *,
    actor: str,
    partner: Partner,
    period: Period,
    lines: Sequence[ManualLine],
    currency: str | None = None,
    note: str = "",
    origin: str = Origin.MANUAL,
) -> Payout:
    """A payout with lines given by hand (commissions, bonuses): quantity × unit price each."""
    from leadbill.domain.money import check_currency
    from leadbill.domain.rounding import line_amount_minor

    if not partner.is_supplier:
        raise DomainError(f"partner {partner.code!r} does not supply leads; payouts are for suppliers", field="partner")
    currency = check_currency(currency or partner.currency)
    if not lines:
        raise DomainError("give at least one line", field="lines")
    note = field_text(note, field="note", max_length=500, multiline=True)
    rows = []
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        description = field_text(line.description, field=f"{where}.description", max_length=300)
        if not description:
            raise DomainError("say what the line pays for", field=f"{where}.description")
        if not 0 < line.quantity <= MAX_QUANTITY:
            raise DomainError(f"a quantity from 1 to {MAX_QUANTITY:,}", field=f"{where}.quantity")
        if not line.unit_price.is_finite() or not 0 < line.unit_price <= MAX_UNIT_PRICE:
            raise DomainError(f"a unit price above 0 and at most {MAX_UNIT_PRICE:,}", field=f"{where}.unit_price")
        micros = unit_price_to_micros(line.unit_price, field=f"{where}.unit_price")
        rows.append((line, description, micros, line_amount_minor(line.quantity, micros, currency)))
    with transaction.atomic():
        now = timezone.now()
        payout = Payout(
            entity_id=partner.entity_id, partner=partner, period_key=period.key, period_start=period.start,
            period_end=period.end, period_first_day=period.first_day, period_last_day=period.last_day,
            currency=currency, origin=origin, created_by=actor, created_at=now, updated_at=now, note=note,
            amount_minor=sum(amount for *_, amount in rows), leads_paid=0,
        )  # fmt: skip
        payout.total_minor = payout.amount_minor
        try:
            with transaction.atomic():
                payout.save()
        except IntegrityError:
            raise StateError(
                f"{partner.code} already has a payout for {period.key} in {currency}; cancel it or change that one"
            ) from None
        PayoutLine.objects.bulk_create(
            [
                PayoutLine(payout=payout, position=i, kind=p.MANUAL, description=description,
                           quantity=line.quantity, unit_price_micros=micros, amount_minor=amount)
                for i, (line, description, micros, amount) in enumerate(rows, start=1)
            ]
        )  # fmt: skip
        audit_record(actor=actor, action="payout.created", obj=payout, partner=partner.code, period=period.key,
                     currency=currency, amount_minor=payout.amount_minor, origin=origin)  # fmt: skip
        return payout


# --- the lifecycle -------------------------------------------------------------------------


def _locked(payout: Payout) -> Payout:
    return Payout.objects.select_for_update().select_related("entity", "partner").get(pk=payout.pk)


def payout_transition(
    *, actor: str, payout: Payout, to: str, reason: str = "", reference: str = "", paid_on: date | None = None,
    payment_file_id: int | None = None,
) -> Payout:  # fmt: skip
    """Move a payout along its lifecycle; "ready" generates the self-billed documents.

    `payment_file_id` is given by the payment file that pays the payout when it is marked sent.
    """
    reason = field_text(reason, field="reason", max_length=500)
    reference = field_text(reference, field="reference", max_length=200)
    with transaction.atomic():
        po = _locked(payout)
        p.check_transition(po.status, to)
        _check_not_held(po, payment_file_id)
        now = timezone.now()
        before = po.status
        if to == p.PENDING:
            _check_still_valid(po)
        elif to == p.CANCELLED:
            if not reason.strip():
                raise DomainError("say why the payout is cancelled", field="reason")
            _cancel(actor, po, reason.strip())
            po.cancelled_at, po.cancel_reason = now, reason.strip()[:500]
        elif to == p.PAID:
            _check_accepted(po)
            po.paid_at, po.paid_reference = now, reference.strip()[:200]
            po.paid_on = paid_on or today_in(po.entity)
        elif to == p.READY:
            po.ready_at, po.review_reason = now, ""
        po.status, po.updated_at = to, now
        po.save()
        if to == p.READY:  # before the event, so "payout.ready" names its documents or why there are none
            self_bill(actor, po)
        audit_record(actor=actor, action=f"payout.{to}", obj=po, partner=po.partner.code, period=po.period_key,
                     status_before=before, amount_minor=po.amount_minor, reason=reason, reference=reference,
                     paid_on=paid_on.isoformat() if paid_on else None)  # fmt: skip
        payout.refresh_from_db()
        return po


def _check_not_held(po: Payout, payment_file_id: int | None) -> None:
    """A payout in a payment file not yet sent moves only with that file: paying or cancelling it by hand
    would leave a file at the bank that pays it again, or a file that can never be marked sent."""
    held = unsent_file_item(po)
    if held is not None and held.file_id != payment_file_id:
        raise StateError(
            f"payout {po.pk} is in payment file {held.file.message_id}, not yet sent: mark that file sent, "
            "or cancel it to free the payout",
            field="status",
        )


def _check_accepted(po: Payout) -> None:
    """Where the entity requires it, a payout is paid only on accepted or deemed accepted self-invoices.

    Every way of paying (console, API, CLI, a payment file marked sent) comes through here.
    """
    if not po.entity.self_billing_require_acceptance:
        return
    waiting = acceptance_blockers(po)
    if waiting:
        raise StateError(f"{po.entity.legal_name} pays only accepted self-invoices, and {'; '.join(waiting)}")


def _check_still_valid(po: Payout) -> None:
    """A computed draft whose leads were returned since is computed again before review."""
    returned = PaidLead.objects.filter(payout=po, voided=False).filter(
        Exists(Return.objects.filter(delivery=OuterRef("delivery"), status=ReturnStatus.ACCEPTED))
    )
    count = returned.count()
    if count:
        raise StateError(f"{count} lead(s) on this payout were returned since it was computed; compute it again")


def _cancel(actor: str, po: Payout, reason: str) -> None:
    used = DeductedLead.objects.filter(paid__payout=po, voided=False).exclude(payout__status=p.CANCELLED)
    elsewhere = sorted({d.payout_id for d in used.exclude(payout=po)})
    if elsewhere:
        raise StateError(
            f"returned leads of this payout are deducted on payout(s) {', '.join(map(str, elsewhere))}; "
            "cancel those first"
        )
    for doc in SelfBilledDocument.objects.filter(payout=po).live().order_by("pk"):
        reverse_document(actor, doc, reason)
    PaidLead.objects.filter(payout=po).update(voided=True)
    DeductedLead.objects.filter(payout=po).update(voided=True)


__all__ = ["ComputeResult", "ManualLine", "payout_compute", "payout_create", "payout_transition"]
