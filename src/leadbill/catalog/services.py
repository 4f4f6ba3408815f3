"""Writes to the catalog: lead types and price-plan versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.catalog.models import LeadType, PlanSide, PricePlan
from leadbill.domain.errors import DomainError
from leadbill.domain.pricing import model_from_config
from leadbill.partners.models import Partner, Profile


def _relink_versions(plan: PricePlan) -> None:
    """Keep `effective_to` of every version of a scope equal to the next version's start."""
    versions = list(
        PricePlan.objects.select_for_update()
        .filter(partner=plan.partner, profile=plan.profile, lead_type=plan.lead_type, side=plan.side)
        .order_by("effective_from")
    )
    for current, following in zip(versions, [*versions[1:], None], strict=True):
        end = following.effective_from if following else None
        if current.effective_to != end:
            current.effective_to = end
            current.save(update_fields=["effective_to"])


def price_plan_set(
    *,
    actor: str,
    partner: Partner,
    model: str,
    config: dict[str, Any],
    effective_from: datetime,
    profile: Profile | None = None,
    lead_type: LeadType | None = None,
    side: str = PlanSide.SELL,
) -> tuple[PricePlan, bool]:
    """Create or update the plan version of a scope starting at `effective_from`.

    Returns the plan and whether anything changed. The configuration is validated by
    the pricing model before anything is written, and stored normalised.
    """
    if effective_from.tzinfo is None:
        raise DomainError("give the time zone of effective_from", field="effective_from")
    if profile is not None and profile.partner_id != partner.pk:
        raise DomainError(f"profile {profile.code!r} belongs to another partner", field="profile")
    if lead_type is not None and lead_type.entity_id != partner.entity_id:
        raise DomainError(f"lead type {lead_type.code!r} belongs to another entity", field="lead_type")
    normalised = model_from_config(model, config).to_config()
    with transaction.atomic():
        plan = (
            PricePlan.objects.select_for_update()
            .filter(
                partner=partner,
                profile=profile,
                lead_type=lead_type,
                side=side,
                effective_from=effective_from,
            )
            .first()
        )
        if plan is not None and plan.model == model and plan.config == normalised:
            return plan, False
        if plan is None:
            plan = PricePlan.objects.create(
                entity_id=partner.entity_id,
                partner=partner,
                profile=profile,
                lead_type=lead_type,
                side=side,
                model=model,
                config=normalised,
                effective_from=effective_from,
            )
            action = "price_plan.created"
        else:
            plan.model, plan.config = model, normalised
            plan.save(update_fields=["model", "config"])
            action = "price_plan.changed"
        _relink_versions(plan)
        audit_record(
            actor=actor,
            action=action,
            obj=plan,
            entity=partner.entity,
            model=model,
            config=normalised,
            effective_from=effective_from.isoformat(),
        )
        plan.refresh_from_db()
        if plan.effective_from > timezone.now():  # a scheduled price change: the partner is told in advance
            from leadbill.catalog.notices import price_change_notice

            price_change_notice(actor=actor, plan=plan)
        return plan, True


MAX_COPY_PARTNERS = 500  # one form's worth; a bigger change is a set-up file's job


def price_plan_copy(*, actor: str, plan: PricePlan, partners: list[Partner]) -> list[PricePlan]:
    """Give each of `partners` the same plan version (model, tiers, start, lead type, side) as `plan`.

    Each copy is a version of the partner's own scope through `price_plan_set` (audited
    there); one more audit row on the source records the copy as one act. All or nothing:
    a partner that cannot take the plan (another entity or currency, no matching role) stops
    the copy before anything is written, naming it. A profile belongs to one partner, so a
    profile's plan is not copied.
    """
    if plan.profile_id is not None:
        raise DomainError("a profile's plan belongs to that profile; copy a partner-wide plan", field="copy_to")
    if len(partners) > MAX_COPY_PARTNERS:
        raise DomainError(f"at most {MAX_COPY_PARTNERS} partners at once", field="copy_to")
    source = plan.partner
    role = "is_buyer" if plan.side == PlanSide.SELL else "is_supplier"
    for partner in partners:
        if partner.entity_id != source.entity_id:
            raise DomainError(f"{partner.code} belongs to another entity", field="copy_to")
        if partner.pk == source.pk:
            raise DomainError(f"{partner.code} is the partner the plan is from", field="copy_to")
        if partner.currency != source.currency:
            raise DomainError(f"{partner.code} is billed in {partner.currency}, the plan's prices are in "
                              f"{source.currency}", field="copy_to")  # fmt: skip
        if not getattr(partner, role):
            what = "buyer" if role == "is_buyer" else "supplier"
            raise DomainError(f"{partner.code} is not a {what}; a {plan.side} plan needs that role", field="copy_to")
    copies = []
    with transaction.atomic():
        for partner in partners:
            copy, _ = price_plan_set(
                actor=actor, partner=partner, model=plan.model, config=dict(plan.config),
                effective_from=plan.effective_from, lead_type=plan.lead_type, side=plan.side,
            )  # fmt: skip
            copies.append(copy)
        audit_record(
            actor=actor, action="price_plan.copied", obj=plan, entity=source.entity,
            to=[p.code for p in partners], effective_from=plan.effective_from.isoformat(),
        )  # fmt: skip
    return copies
