"""Writes of payouts and self-billing.

Every write has one shape (STYLE 9): one transaction, an audit row in it, side effects
after commit. A payout moves draft → pending → ready → paid, or is cancelled; reaching
"ready" is what generates its self-billed documents, in the same transaction, when the
entity's switch is on and the partner has opted in with complete details. Otherwise the
payout records why, and the partner may upload its own invoice.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.catalog.models import LeadType, PlanSide, PricePlan
from leadbill.deliveries.models import Delivery, Return, ReturnStatus
from leadbill.domain import generation, identifiers
from leadbill.domain import payouts as p
from leadbill.domain import selfbilling as sb
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.money import unit_price_to_micros
from leadbill.domain.periods import Period
from leadbill.domain.pricing import DeliveredPrice, model_from_config
from leadbill.domain.text import field_text, unsafe_character
from leadbill.entities.models import Entity, NumberSeries
from leadbill.entities.services import allocate_numbers, format_number
from leadbill.invoicing.services import check_period_ended, today_in
from leadbill.invoicing.snapshots import seller_snapshot
from leadbill.partners.models import Partner
from leadbill.payouts.agreement import VERSION, agreement_text, text_sha256
from leadbill.payouts.models import (
    DETAIL_FIELDS,
    Agreement,
    DeductedLead,
    Origin,
    PaidLead,
    Payout,
    PayoutLine,
    SelfBilledDocument,
    SelfBilledLine,
    SellerProfile,
    SupplierInvoice,
)
from leadbill.xmlsafe import safe_root

COST = "cost"  # the scope suffix of leads priced at their recorded cost
SUPPLIER_INVOICE_MAX_BYTES = 5_000_000
MAX_QUANTITY = 10_000_000  # per manual line; with MAX_UNIT_PRICE a line stays far inside a 64-bit amount
MAX_UNIT_PRICE = Decimal(1_000_000)


def _bp(rate: Decimal) -> int:
    return int(rate * 100)


def _percent(bp: int) -> Decimal:
    return (Decimal(bp) / 100).quantize(Decimal("0.01"))


# --- the entity's switch ----------------------------------------------------------------


def self_billing_switch(*, actor: str, entity: Entity, on: bool) -> Entity:
    """Turn self-billing on or off for the entity; off stops new self-invoices at once."""
    with transaction.atomic():
        entity = Entity.objects.select_for_update().get(pk=entity.pk)
        if entity.self_billing != on:
            entity.self_billing = on
            entity.save(update_fields=["self_billing"])
            audit_record(actor=actor, action=f"self_billing.switched_{'on' if on else 'off'}", obj=entity,
                         entity=entity)  # fmt: skip
        return entity


# --- the partner's seller details and agreement -------------------------------------------


class DetailsError(DomainError):
    """Seller details with problems, one message per field; nothing was saved."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.problems.items()))


def _check_details(raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Clean the seller details; returns (values, problems by field)."""
    from leadbill.domain.peppol import check_participant_id
    from leadbill.loader.schema import _email

    limits = {f.name: f.max_length for f in SellerProfile._meta.get_fields() if getattr(f, "max_length", None)}
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for key in DETAIL_FIELDS:
        text = str(raw.get(key) or "").strip()
        if len(text) > (limits.get(key) or 200):
            problems[key] = f"at most {limits.get(key)} characters"
        elif (unsafe := unsafe_character(text)) is not None:
            problems[key] = unsafe
        values[key] = text
    country = values["country"] = values["country"].upper()
    if country and (len(country) != 2 or not country.isalpha()):
        problems["country"] = "an ISO 3166-1 country code of two letters, e.g. DE"
    checks: dict[str, Callable[[str], str]] = {
        "tax_id": lambda value: identifiers.tax_id(value, country if "country" not in problems else ""),
        "email": _email,
        "iban": identifiers.iban,
        "bic": identifiers.bic,
    }
    for key, check in checks.items():
        if values[key] and key not in problems:
            try:
                values[key] = check(values[key])
            except DomainError as exc:
                problems[key] = exc.message
    if values["peppol_id"]:
        try:
            values["peppol_id"] = check_participant_id(values["peppol_id"])
        except DomainError as exc:
            problems["peppol_id"] = exc.message
    return values, problems


def default_prefix(partner: Partner) -> str:
    return f"SB-{partner.code.upper()[:16]}-"


def seller_details_set(
    *,
    actor: str,
    partner: Partner,
    details: Mapping[str, Any],
    tax_rate: str | None = None,
    footer: str = "",
    logo: tuple[bytes, str] | None = None,
    number_prefix: str = "",
) -> SellerProfile:
    """Save the partner's seller details for its self-invoices; refuses the lot if a field is wrong."""
    from leadbill.documents.assets import asset_store

    values, problems = _check_details(details)
    rate_bp: int | None = None
    try:
        rate = sb.parse_rate(tax_rate)
        rate_bp = None if rate is None else _bp(rate)
    except DomainError as exc:
        problems["tax_rate"] = exc.message
    try:
        footer = field_text(footer, field="footer", max_length=500, multiline=True)
    except DomainError as exc:
        problems["footer"] = exc.message
    prefix = number_prefix.strip() or default_prefix(partner)
    if len(prefix) > 20 or not all(ch.isalnum() or ch in "-_/." for ch in prefix):
        problems["number_prefix"] = "at most 20 letters, digits or - _ / ."
    if problems:
        raise DetailsError(problems)
    with transaction.atomic():
        profile = SellerProfile.objects.select_for_update().filter(partner=partner).first()
        if profile is None:
            profile = SellerProfile(partner=partner)
        if profile.pk and profile.number_prefix != prefix and _series_used(partner):
            raise DetailsError({"number_prefix": "numbers were issued in this series already; it keeps its prefix"})
        for key, value in values.items():
            setattr(profile, key, value)
        profile.tax_rate_bp, profile.footer, profile.number_prefix = rate_bp, footer, prefix
        if logo is not None:
            profile.logo_sha256 = asset_store(*logo)
        profile.updated_at, profile.updated_by = timezone.now(), actor
        profile.save()
        audit_record(actor=actor, action="self_billing.details_saved", obj=profile, entity=partner.entity,
                     partner=partner.code, tax_rate_bp=rate_bp, logo=profile.logo_sha256,
                     missing=list(sb.missing_details(profile.details())))  # fmt: skip
        return profile


def _series_used(partner: Partner) -> bool:
    return SelfBilledDocument.objects.filter(partner=partner).exists()


def agreement_in_force(partner: Partner) -> Agreement | None:
    return Agreement.objects.filter(partner=partner, withdrawn_at__isnull=True).first()


@dataclass(frozen=True, slots=True)
class Signer:
    """Who accepts or withdraws, and from where: the partner's main contact in the portal."""

    email: str
    is_main_contact: bool
    address: str | None = None
    user_agent: str = ""


def self_billing_opt_in(
    *, actor: str, partner: Partner, signer: Signer, accepted: bool, version: str = VERSION, via: str = "account"
) -> Agreement:
    """Record the partner's acceptance of the agreement (who, when, from where, which text)."""
    if not signer.is_main_contact:
        raise StateError("only the partner's main contact can accept the self-billing agreement")
    if not accepted:
        raise DomainError("accept the self-billing agreement to opt in", field="accept")
    entity = partner.entity
    if not entity.self_billing:
        raise StateError(f"{entity.legal_name} does not offer self-billing at the moment")
    text = agreement_text(entity=entity.legal_name, partner=partner.legal_name or partner.name, version=version)
    with transaction.atomic():
        Partner.objects.select_for_update().get(pk=partner.pk)
        current = agreement_in_force(partner)
        if current is not None:
            return current
        now = timezone.now()
        agreement = Agreement.objects.create(
            entity=entity, partner=partner, version=version, text_sha256=text_sha256(text),
            accepted_by=signer.email, accepted_at=now, accepted_from=signer.address or None,
            user_agent=signer.user_agent[:300], via=via,
        )  # fmt: skip
        SellerProfile.objects.filter(partner=partner, decided_at__isnull=True).update(decided_at=now)
        audit_record(actor=actor, action="self_billing.opted_in", obj=agreement, entity=entity, partner=partner.code,
                     version=version, by=signer.email, address=signer.address, via=via)  # fmt: skip
        return agreement


def self_billing_opt_out(*, actor: str, partner: Partner, signer: Signer) -> Agreement:
    """Withdraw the agreement: no self-invoice is made from now on; issued ones stay."""
    if not signer.is_main_contact:
        raise StateError("only the partner's main contact can end the self-billing agreement")
    with transaction.atomic():
        Partner.objects.select_for_update().get(pk=partner.pk)
        agreement = agreement_in_force(partner)
        if agreement is None:
            raise StateError(f"{partner.name} has not opted in to self-billing")
        agreement.withdrawn_at, agreement.withdrawn_by = timezone.now(), signer.email
        agreement.withdrawn_from = signer.address or None
        agreement.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_from"])
        audit_record(actor=actor, action="self_billing.opted_out", obj=agreement, entity=partner.entity,
                     partner=partner.code, by=signer.email, address=signer.address)  # fmt: skip
        return agreement


def onboarding_postpone(*, actor: str, partner: Partner) -> None:
    """The partner answered the onboarding step with "not now": it is not asked again."""
    with transaction.atomic():
        profile, _ = SellerProfile.objects.get_or_create(
            partner=partner,
            defaults={"legal_name": partner.legal_name or partner.name, "number_prefix": default_prefix(partner),
                      "updated_at": timezone.now(), "updated_by": actor},
        )  # fmt: skip
        if profile.decided_at is None:
            profile.decided_at = timezone.now()
            profile.save(update_fields=["decided_at"])
            audit_record(actor=actor, action="self_billing.onboarding_postponed", obj=profile, entity=partner.entity,
                         partner=partner.code)  # fmt: skip


def onboarding_due(partner: Partner) -> bool:
    """The self-billing onboarding step waits for this partner's answer."""
    if not (partner.is_supplier and partner.entity.self_billing):
        return False
    if agreement_in_force(partner) is not None:
        return False
    return not SellerProfile.objects.filter(partner=partner, decided_at__isnull=False).exists()


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
        for doc in SelfBilledDocument.objects.filter(payout_id__in={pl.payout_id for pl in paid_leads}, role=sb.INVOICE)
    }
    grouped: dict[tuple[str, int], list[PaidLead]] = defaultdict(list)
    for pl in paid_leads:
        grouped[(pl.payout.currency, pl.payout_id)].append(pl)
    for (currency, payout_id), leads in grouped.items():
        original = leads[0].payout
        doc = invoices.get(payout_id)
        where = f"payout {original.period_key}" + (f", self-invoice {doc.number}" if doc else "")
        description = f"Returned leads paid out on {where}"
        rate = _percent(_invoice_rate_bp(doc)) if doc else Decimal(0)
        facts = by_currency.setdefault(currency, _Facts(currency))
        facts.deductions.append(p.Deduction(description, len(leads), sum(pl.amount_minor for pl in leads), rate))
        facts.deducted[description] = [(pl, returns[pl.delivery_id]) for pl in leads]


def _invoice_rate_bp(doc: SelfBilledDocument) -> int:
    """The tax rate of a self-invoice, from its stored summary (one rate: the partner's at issue)."""
    return max((_bp(Decimal(t["rate"])) for t in doc.taxes), default=0)


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
                if currency not in facts and (po.status != p.DRAFT or po.origin != Origin.COMPUTED):
                    result.kept.append(po)  # under review or made by hand: never touched by a computation
                elif po.status == p.DRAFT and po.origin == Origin.COMPUTED and currency not in facts:
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
    rows = []
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        if not line.description.strip():
            raise DomainError("say what the line pays for", field=f"{where}.description")
        if len(line.description) > 300:
            raise DomainError("at most 300 characters", field=f"{where}.description")
        if not 0 < line.quantity <= MAX_QUANTITY:
            raise DomainError(f"a quantity from 1 to {MAX_QUANTITY:,}", field=f"{where}.quantity")
        if not line.unit_price.is_finite() or not 0 < line.unit_price <= MAX_UNIT_PRICE:
            raise DomainError(f"a unit price above 0 and at most {MAX_UNIT_PRICE:,}", field=f"{where}.unit_price")
        micros = unit_price_to_micros(line.unit_price, field=f"{where}.unit_price")
        rows.append((line, micros, line_amount_minor(line.quantity, micros, currency)))
    with transaction.atomic():
        now = timezone.now()
        payout = Payout(
            entity_id=partner.entity_id, partner=partner, period_key=period.key, period_start=period.start,
            period_end=period.end, period_first_day=period.first_day, period_last_day=period.last_day,
            currency=currency, origin=origin, created_by=actor, created_at=now, updated_at=now, note=note.strip()[:500],
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
                PayoutLine(payout=payout, position=i, kind=p.MANUAL, description=line.description.strip(),
                           quantity=line.quantity, unit_price_micros=micros, amount_minor=amount)
                for i, (line, micros, amount) in enumerate(rows, start=1)
            ]
        )  # fmt: skip
        audit_record(actor=actor, action="payout.created", obj=payout, partner=partner.code, period=period.key,
                     currency=currency, amount_minor=payout.amount_minor, origin=origin)  # fmt: skip
        return payout


# --- the lifecycle -------------------------------------------------------------------------


def _locked(payout: Payout) -> Payout:
    return Payout.objects.select_for_update().select_related("entity", "partner").get(pk=payout.pk)


def payout_transition(
    *, actor: str, payout: Payout, to: str, reason: str = "", reference: str = "", paid_on: date | None = None
) -> Payout:
    """Move a payout along its lifecycle; "ready" generates the self-billed documents."""
    reason = field_text(reason, field="reason", max_length=500)
    reference = field_text(reference, field="reference", max_length=200)
    with transaction.atomic():
        po = _locked(payout)
        p.check_transition(po.status, to)
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
            po.paid_at, po.paid_reference = now, reference.strip()[:200]
            po.paid_on = paid_on or today_in(po.entity)
        elif to == p.READY:
            po.ready_at = now
        po.status, po.updated_at = to, now
        po.save()
        if to == p.READY:  # before the event, so "payout.ready" names its documents or why there are none
            _self_bill(actor, po)
        audit_record(actor=actor, action=f"payout.{to}", obj=po, partner=po.partner.code, period=po.period_key,
                     status_before=before, amount_minor=po.amount_minor, reason=reason, reference=reference,
                     paid_on=paid_on.isoformat() if paid_on else None)  # fmt: skip
        payout.refresh_from_db()
        return po


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
    for doc in SelfBilledDocument.objects.filter(payout=po, role__in=[sb.INVOICE, sb.CREDIT]).order_by("pk"):
        _reverse(actor, doc, reason)
    PaidLead.objects.filter(payout=po).update(voided=True)
    DeductedLead.objects.filter(payout=po).update(voided=True)


# --- self-billed documents -----------------------------------------------------------------


def why_no_self_invoice(payout: Payout) -> str:
    """'' when a ready payout of this partner would get a self-invoice now, else the reason."""
    partner, entity = payout.partner, payout.entity
    profile = SellerProfile.objects.filter(partner=partner).first()
    return sb.refusal(
        switch_on=entity.self_billing,
        opted_in=agreement_in_force(partner) is not None,
        missing=sb.missing_details(profile.details() if profile else {}),
        entity=entity.legal_name,
        partner=partner.name,
    )


def _self_bill(actor: str, po: Payout) -> list[SelfBilledDocument]:
    """Inside the ready transition: issue the documents, or record why none."""
    if SelfBilledDocument.objects.filter(payout=po, role__in=[sb.INVOICE, sb.CREDIT]).exists():
        return []
    if SupplierInvoice.objects.filter(payout=po).exists():
        po.self_billing = "The partner uploaded its own invoice for this payout."
        po.save(update_fields=["self_billing"])
        return []
    reason = why_no_self_invoice(po)
    if reason:
        po.self_billing = reason
        po.save(update_fields=["self_billing"])
        audit_record(actor=actor, action="self_invoice.not_made", obj=po, partner=po.partner.code, reason=reason)
        return []
    profile = SellerProfile.objects.get(partner=po.partner)
    agreement = agreement_in_force(po.partner)
    lines = list(po.lines.all())
    charges = [line for line in lines if line.kind != p.DEDUCTION]
    deductions = [line for line in lines if line.kind == p.DEDUCTION]
    rate_bp = profile.tax_rate_bp or 0
    docs = []
    issue_date = today_in(po.entity)
    seller = _seller_snapshot(po.partner, profile)
    buyer = {**seller_snapshot(po.entity), "code": po.entity.slug, "buyer_reference": f"Payout {po.pk}"}
    if charges:
        rows = [(line, rate_bp, line.amount_minor) for line in charges]
        docs.append(_issue(actor, po, sb.INVOICE, rows, issue_date, seller, buyer, agreement))
    if deductions:
        # Taken back at the rate the leads were invoiced at; leads paid without a self-invoice at today's rate.
        originals = _originals(deductions)
        rows = [(line, _invoice_rate_bp(originals[line.pk]) if originals[line.pk] else rate_bp, -line.amount_minor)
                for line in deductions]  # fmt: skip
        refs = list({doc.pk: doc for doc in originals.values() if doc is not None}.values())
        docs.append(_issue(actor, po, sb.CREDIT, rows, issue_date, seller, buyer, agreement, refs=refs))
    po.self_billing = ""
    po.tax_minor = sum(-d.tax_minor if d.is_credit else d.tax_minor for d in docs)
    po.total_minor = sum(d.signed_total_minor for d in docs)
    po.save(update_fields=["self_billing", "tax_minor", "total_minor"])
    _archive_on_commit(docs)
    return docs


def _originals(deductions: Sequence[PayoutLine]) -> dict[int, SelfBilledDocument | None]:
    """For each deduction line, the self-invoice that paid its leads (None: paid without one), in two queries."""
    payout_of_line = dict(
        DeductedLead.objects.filter(line__in=deductions).values_list("line_id", "paid__payout_id").distinct()
    )
    invoices = {
        doc.payout_id: doc
        for doc in SelfBilledDocument.objects.filter(payout_id__in=set(payout_of_line.values()), role=sb.INVOICE)
    }
    return {line.pk: invoices.get(payout_of_line.get(line.pk, 0)) for line in deductions}


def _seller_snapshot(partner: Partner, profile: SellerProfile) -> dict[str, Any]:
    return {
        **profile.details(), "name": profile.legal_name, "code": partner.code, "logo_sha256": profile.logo_sha256,
        "footer": profile.footer, "locale": partner.entity.locale, "number_prefix": profile.number_prefix,
    }  # fmt: skip


def _series(partner: Partner) -> str:
    return f"self:{partner.pk}"


def _allocate(partner: Partner, prefix: str) -> tuple[str, int]:
    """The next number of the partner's own self-billing series (gapless, in the transaction)."""
    series = _series(partner)
    row, created = NumberSeries.objects.get_or_create(
        entity_id=partner.entity_id, series=series, defaults={"prefix": prefix}
    )
    if not created and row.prefix != prefix and prefix:
        NumberSeries.objects.filter(pk=row.pk).update(prefix=prefix)
    return allocate_numbers(partner.entity_id, series)


def _issue(
    actor: str,
    po: Payout,
    role: str,
    rows: Sequence[tuple[PayoutLine, int, int]],
    issue_date: date,
    seller: dict[str, Any],
    buyer: dict[str, Any],
    agreement: Agreement | None,
    *,
    refs: Sequence[SelfBilledDocument] = (),
) -> SelfBilledDocument:
    totals = sb.totals([(_percent(bp), amount) for _, bp, amount in rows], po.currency)
    prefix, sequence = _allocate(po.partner, seller.get("number_prefix") or default_prefix(po.partner))
    terms = po.partner.payment_terms()
    doc = SelfBilledDocument.objects.create(
        entity=po.entity, partner=po.partner, payout=po, role=role, series=_series(po.partner), sequence=sequence,
        number=format_number(prefix, sequence), issue_date=issue_date,
        due_date=issue_date + timedelta(days=terms) if role == sb.INVOICE else None,
        currency=po.currency, subtotal_minor=totals.net_minor, tax_minor=totals.tax_minor,
        total_minor=totals.total_minor,
        taxes=[{"rate": str(t.rate), "net_minor": t.net_minor, "tax_minor": t.tax_minor} for t in totals.taxes],
        payment_terms_days=terms if role == sb.INVOICE else None, period_first_day=po.period_first_day,
        period_last_day=po.period_last_day, seller=seller, buyer=buyer, corrects=refs[0] if refs else None,
        references=[d.number for d in refs],
        notes=[f"Corrects {', '.join(d.number for d in refs)}: leads returned by the buyer"] if refs else [],
        agreement=agreement, issued_at=timezone.now(), issued_by=actor,
    )  # fmt: skip
    SelfBilledLine.objects.bulk_create(
        [
            SelfBilledLine(document=doc, position=i, kind=line.kind, description=line.description,
                           quantity=line.quantity, unit_price_micros=line.unit_price_micros, amount_minor=amount,
                           tax_rate_bp=bp)
            for i, (line, bp, amount) in enumerate(rows, start=1)
        ]
    )  # fmt: skip
    audit_record(actor=actor, action="self_invoice.issued", obj=doc, entity=po.entity, number=doc.number,
                 role=role, payout=po.pk, total_minor=doc.total_minor)  # fmt: skip
    return doc


def _reverse(actor: str, doc: SelfBilledDocument, reason: str) -> SelfBilledDocument:
    """A cancelled payout's document, reversed by its opposite (389 ↔ 261), same partner series."""
    role = sb.REVERSAL_OF[doc.role]
    prefix, sequence = _allocate(doc.partner, doc.seller.get("number_prefix") or default_prefix(doc.partner))
    reversal = SelfBilledDocument.objects.create(
        entity=doc.entity, partner=doc.partner, payout=doc.payout, role=role, series=doc.series, sequence=sequence,
        number=format_number(prefix, sequence), issue_date=today_in(doc.entity), due_date=None,
        currency=doc.currency, subtotal_minor=doc.subtotal_minor, tax_minor=doc.tax_minor,
        total_minor=doc.total_minor, taxes=doc.taxes, payment_terms_days=None,
        period_first_day=doc.period_first_day, period_last_day=doc.period_last_day, seller=doc.seller,
        buyer=doc.buyer, corrects=doc, references=[doc.number], notes=[f"Reverses {doc.number}: {reason}"],
        agreement=doc.agreement, issued_at=timezone.now(), issued_by=actor,
    )  # fmt: skip
    SelfBilledLine.objects.bulk_create(
        [
            SelfBilledLine(document=reversal, position=line.position, kind=line.kind, description=line.description,
                           quantity=line.quantity, unit_price_micros=line.unit_price_micros,
                           amount_minor=line.amount_minor, tax_rate_bp=line.tax_rate_bp)
            for line in doc.lines.all()
        ]
    )  # fmt: skip
    audit_record(actor=actor, action="self_invoice.issued", obj=reversal, entity=doc.entity, number=reversal.number,
                 role=role, payout=doc.payout_id, corrects=doc.number, total_minor=reversal.total_minor)  # fmt: skip
    _archive_on_commit([reversal])
    return reversal


def self_billing_generate(*, actor: str, payout: Payout) -> list[SelfBilledDocument]:
    """Generate the self-billed documents of a ready (or paid) payout that has none yet.

    For a payout that became ready while something was missing (the switch was off, the
    partner had not opted in, details were incomplete): once that is put right, staff
    generate them here. Still exactly one per payout: the database refuses a second.
    """
    with transaction.atomic():
        po = _locked(payout)
        if po.status not in (p.READY, p.PAID):
            raise StateError(f"the payout is {po.status}; self-invoices are made for ready payouts")
        if SelfBilledDocument.objects.filter(payout=po).exists():
            raise StateError("this payout already has its self-billed documents")
        if SupplierInvoice.objects.filter(payout=po).exists():
            raise StateError("the partner uploaded its own invoice for this payout")
        reason = why_no_self_invoice(po)
        if reason:
            raise StateError(reason)
        docs = _self_bill(actor, po)
        payout.refresh_from_db()
        return docs


def _archive_on_commit(docs: Sequence[SelfBilledDocument]) -> None:
    from leadbill.jobs.kick import enqueue_on_commit
    from leadbill.payouts.tasks import self_billed_archive_task

    for doc in docs:
        enqueue_on_commit(self_billed_archive_task, doc.pk)


# --- the partner's own invoice ------------------------------------------------------------


XML_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _looks_like_xml(content: bytes) -> bool:
    """Starts with `<` after an optional byte order mark and blanks, in UTF-8 or UTF-16 alike."""
    for bom in XML_BOMS:
        content = content.removeprefix(bom)
    return content[:400].lstrip(b" \t\r\n\x00").startswith(b"<")


def xml_invoice_check(content: bytes, name: str) -> None:
    """An uploaded XML invoice: well-formed, with no DTD and no entity, whatever its encoding.

    Read by `leadbill.xmlsafe`: a DOCTYPE stops the parse before its declarations are read.
    """
    safe_root(content, name, "an XML invoice")


def supplier_invoice_upload(
    *, actor: str, payout: Payout, name: str, content: bytes, reference: str = ""
) -> SupplierInvoice:
    """The partner's own invoice for a payout that has no self-invoice (PDF or e-invoice XML)."""
    name = field_text(name, field="file", max_length=200) or "invoice"
    reference = field_text(reference, field="reference", max_length=100)
    if len(content) > SUPPLIER_INVOICE_MAX_BYTES:
        raise DomainError(f"{name} is {len(content):,} bytes; at most {SUPPLIER_INVOICE_MAX_BYTES:,}", field="file")
    if content.startswith(b"%PDF-"):
        media_type = "application/pdf"
    elif _looks_like_xml(content):
        xml_invoice_check(content, name)
        media_type = "application/xml"
    else:
        raise DomainError(f"{name} is neither a PDF nor an XML e-invoice", field="file")
    with transaction.atomic():
        po = _locked(payout)
        if po.status not in (p.PENDING, p.READY, p.PAID):
            raise StateError(f"the payout is {po.status}; an invoice is uploaded once it is pending or ready")
        if SelfBilledDocument.objects.filter(payout=po).exists():
            raise StateError("this payout has a self-invoice; the partner does not invoice it again")
        upload = SupplierInvoice.objects.create(
            payout=po, name=name[:200] or "invoice", media_type=media_type, sha256=hashlib.sha256(content).hexdigest(),
            size=len(content), content=content, reference=reference, uploaded_by=actor,
            uploaded_at=timezone.now(),
        )  # fmt: skip
        if po.status != p.PENDING:
            po.self_billing = "The partner uploaded its own invoice for this payout."
            po.save(update_fields=["self_billing"])
        audit_record(actor=actor, action="payout.invoice_uploaded", obj=po, partner=po.partner.code, name=upload.name,
                     sha256=upload.sha256, size=upload.size, reference=upload.reference)  # fmt: skip
        return upload


__all__ = [
    "ComputeResult",
    "DetailsError",
    "ManualLine",
    "Signer",
    "agreement_in_force",
    "onboarding_due",
    "onboarding_postpone",
    "payout_compute",
    "payout_create",
    "payout_transition",
    "self_billing_generate",
    "self_billing_opt_in",
    "self_billing_opt_out",
    "self_billing_switch",
    "seller_details_set",
    "supplier_invoice_upload",
    "why_no_self_invoice",
]
