"""Partners, their profiles and price plans, and lead types: the set-up, one object at a time."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from leadbill.api.auth import FULL, READ_DOCUMENTS, require
from leadbill.api.common import DEFAULT_PAGE, conforming, json_body, keyset_page, partner_for
from leadbill.api.schemas import (
    ERRORS,
    LeadTypeIn,
    LeadTypeOut,
    PartnerIn,
    PartnerOut,
    PartnerPage,
    PartnerSaved,
    PlanIn,
    PlanOut,
    PlanSaved,
    Problem,
    ProfileIn,
    ProfileOut,
    body,
)
from leadbill.catalog.models import LeadType, PricePlan
from leadbill.loader.services import (
    lead_type_put,
    partner_apply,
    partner_mapping,
    partner_read,
    plan_apply,
    profile_put,
)
from leadbill.partners.models import Partner
from leadbill.partners.selectors import partner_as_dict

router = Router(tags=["partners"])


def plan_as_dict(plan: PricePlan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "model": plan.model,
        "side": plan.side,
        "profile": plan.profile.code if plan.profile_id and plan.profile else None,
        "lead_type": plan.lead_type.code if plan.lead_type_id and plan.lead_type else None,
        "effective_from": plan.effective_from,
        "effective_to": plan.effective_to,
        "config": plan.config,
    }


@router.get("/partners", response={200: PartnerPage, ERRORS: Problem}, summary="List partners")
def list_partners(
    request: HttpRequest, role: str | None = None, active: bool | None = None,
    limit: int = DEFAULT_PAGE, cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    key = require(request, *FULL)
    qs = Partner.objects.filter(entity=key.entity).prefetch_related("profiles")
    if role == "buyer":
        qs = qs.filter(is_buyer=True)
    elif role == "supplier":
        qs = qs.filter(is_supplier=True)
    if active is not None:
        qs = qs.filter(is_active=active)
    return keyset_page(qs, limit=limit, cursor=cursor, shape=partner_as_dict)


@router.get("/partners/{code}", response={200: PartnerOut, ERRORS: Problem}, summary="Get a partner")
def get_partner(request: HttpRequest, code: str) -> dict[str, Any]:
    key = require(request, *READ_DOCUMENTS)
    return partner_as_dict(partner_for(key, code))


@router.put(
    "/partners/{code}",
    response={200: PartnerSaved, 201: PartnerSaved, ERRORS: Problem},
    openapi_extra=body(PartnerIn),
    summary="Create a partner, or change the fields the body carries (set-up file format)",
)
def put_partner(request: HttpRequest, code: str) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    body = json_body(request)
    if isinstance(body, dict) and body.get("code", code) != code:
        partner_read(entity=key.entity, code=code, raw=body)  # names the mismatch (422)
    # A partner that exists keeps what the body does not carry; the schema checks the result.
    conforming(
        PartnerIn,
        partner_mapping(entity=key.entity, code=code, raw=body),
        also=lambda whole: partner_read(entity=key.entity, code=code, raw=whole),
    )
    partner, result = partner_apply(actor=key.actor, entity=key.entity, code=code, raw=body)
    status = 201 if result.counts["partner"]["created"] else 200
    changes = result.as_dict()
    return Status(
        status,
        {
            "partner": partner_as_dict(partner),
            **{name: changes[name] for name in ("created", "updated", "unchanged")},
            "changes": [{k: c[k] for k in ("kind", "key", "action", "fields")} for c in changes["changes"]],
        },
    )


@router.get(
    "/partners/{code}/profiles", response={200: list[ProfileOut], ERRORS: Problem}, summary="A partner's profiles"
)
def list_profiles(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_for(key, code)
    return partner_as_dict(partner)["profiles"]  # type: ignore[no-any-return]


@router.put(
    "/partners/{code}/profiles/{profile}",
    response={200: ProfileOut, 201: ProfileOut, ERRORS: Problem},
    summary="Create or update a delivery profile",
)
def put_profile(request: HttpRequest, code: str, profile: str, payload: ProfileIn) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_for(key, code)
    obj, action = profile_put(
        actor=key.actor, partner=partner, code=profile, name=payload.name, is_active=payload.active
    )
    return Status(201 if action == "created" else 200, {"code": obj.code, "name": obj.name, "active": obj.is_active})


@router.get(
    "/partners/{code}/price-plans",
    response={200: list[PlanOut], ERRORS: Problem},
    summary="A partner's price-plan versions",
)
def list_plans(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_for(key, code)
    plans = PricePlan.objects.filter(partner=partner).select_related("profile", "lead_type")
    return [plan_as_dict(p) for p in plans.order_by("side", "profile__code", "lead_type__code", "effective_from")]


@router.post(
    "/partners/{code}/price-plans",
    response={200: PlanSaved, 201: PlanSaved, ERRORS: Problem},
    openapi_extra=body(PlanIn),
    summary="Create or change a price-plan version",
)
def post_plan(request: HttpRequest, code: str) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_for(key, code)
    plan, action = plan_apply(actor=key.actor, partner=partner, raw=conforming(PlanIn, json_body(request)))
    return Status(201 if action == "created" else 200, {"plan": plan_as_dict(plan), "action": action})


@router.get(
    "/lead-types", response={200: list[LeadTypeOut], ERRORS: Problem}, tags=["lead types"], summary="Lead types"
)
def list_lead_types(request: HttpRequest) -> list[dict[str, Any]]:
    key = require(request, *FULL)
    return [{"code": lt.code, "name": lt.name} for lt in LeadType.objects.filter(entity=key.entity).order_by("code")]


@router.put(
    "/lead-types/{code}",
    response={200: LeadTypeOut, 201: LeadTypeOut, ERRORS: Problem},
    tags=["lead types"],
    summary="Create or rename a lead type",
)
def put_lead_type(request: HttpRequest, code: str, payload: LeadTypeIn) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    lead_type, action = lead_type_put(actor=key.actor, entity=key.entity, code=code, name=payload.name)
    return Status(201 if action == "created" else 200, {"code": lead_type.code, "name": lead_type.name})
