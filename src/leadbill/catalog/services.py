"""Writes to the catalog: lead types and price-plan versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

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
        return plan, True
