"""The `partners:` section of an entity: roles, contact, billing, caps, returns, profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from leadbill.domain.errors import DomainError
from leadbill.domain.money import check_currency
from leadbill.loader.schema.problems import BILLING_MODES, ROLES, Problem
from leadbill.loader.schema.specs import PartnerSpec, PlanSpec, ProfileSpec
from leadbill.loader.schema.values import (
    _REQUIRED,
    CAP_POLICIES,
    _address,
    _boolean,
    _choice,
    _email,
    _Fields,
    _integer,
    _money_minor,
    _peppol_id,
    _percent_bp,
    _slug,
    _tax_id,
    _tax_rate_bp,
    _text,
    _unique,
    _unit_price_micros,
)

if TYPE_CHECKING:
    from leadbill.loader.schema.document import _Reader


def read_partner(
    reader: _Reader,
    path: str,
    raw: Any,
    *,
    entity: str | None,
    currency: str | None,
    tz: ZoneInfo | None,
    lead_types: set[str],
) -> PartnerSpec | None:
    f = _Fields(reader.problems, path, raw)
    if not f.ok:
        return None
    code = f.read("code", _slug)
    name = f.text("name", 200, _REQUIRED)
    legal_name = f.text("legal_name", 200)

    roles: list[str] = [] if f.has("roles") else ["buyer"]
    role_items = f.items("roles")
    for item_path, item in role_items:
        if item not in ROLES:
            reader.problems.append(Problem(item_path, f"one of {', '.join(ROLES)}; got {item!r}"))
        elif item in roles:
            reader.problems.append(Problem(item_path, f"{item!r} is given twice"))
        else:
            roles.append(item)
    if f.raw.get("roles") == []:
        f.problem("roles", "give at least one of buyer, supplier")
    is_active = f.read("active", _boolean, True)

    contact = f.mapping("contact")
    contact_name = contact.text("name", 200)
    contact_email = contact.read("email", _email, "")
    contact_phone = contact.text("phone", 40)
    contact.close()

    billing_emails: list[str] = []
    for item_path, item in f.items("billing_emails"):
        try:
            billing_emails.append(_email(item))
        except DomainError as exc:
            reader.problems.append(Problem(item_path, exc.message))
    address = _address(f, country_required=False)
    tax_id = f.read("tax_id", _tax_id(address.country), "")
    peppol_id = f.read("peppol_id", _peppol_id, "")
    buyer_reference = f.text("buyer_reference", 100)
    own_currency = f.read("currency", lambda v: check_currency(_text(20)(v)), currency)
    payment_terms = f.read("payment_terms_days", _integer(), None)
    tax_rate_bp = f.read("tax_rate", _tax_rate_bp, None)
    billing_mode = f.read("billing_mode", _choice(BILLING_MODES), "credit")
    credit_limit = f.read("credit_limit", _money_minor(own_currency), None)
    low_balance = f.read("low_balance_alert", _money_minor(own_currency), None)
    if billing_mode == "prepay" and f.has("credit_limit"):
        f.problem("credit_limit", "only for billing_mode: credit")
    if billing_mode == "credit" and f.has("low_balance_alert"):
        f.problem("low_balance_alert", "only for billing_mode: prepay")

    caps = f.mapping("caps")
    cap_daily = caps.read("daily", _integer(), None)
    cap_weekly = caps.read("weekly", _integer(), None)
    cap_monthly = caps.read("monthly", _integer(), None)
    cap_policy = caps.read("policy", _choice(CAP_POLICIES), "flag")
    over_cap_price = caps.read("over_cap_price", _unit_price_micros, None)
    if cap_policy == "price" and over_cap_price is None and not caps.has("over_cap_price"):
        caps.problem("over_cap_price", "required with policy: price (the price per lead beyond a cap)")
    caps.close()

    returns = f.mapping("returns")
    returns_allowed = returns.read("allowed", _boolean, True)
    return_max_age = returns.read("max_age_days", _integer(), None)
    return_max_share = returns.read("max_share", _percent_bp, None)
    return_auto_accept = returns.read("auto_accept", _boolean, False)
    returns.close()

    report_fields: list[str] = []
    for item_path, item in f.items("report_fields"):
        try:
            field = _text(100)(item)
        except DomainError as exc:
            reader.problems.append(Problem(item_path, exc.message))
            continue
        if not field or field in report_fields:
            reader.problems.append(Problem(item_path, "empty or given twice"))
        else:
            report_fields.append(field)

    profiles: list[ProfileSpec] = []
    seen: dict[Any, str] = {}
    for item_path, item in f.items("profiles"):
        pf = _Fields(reader.problems, item_path, item)
        if not pf.ok:
            continue
        spec = ProfileSpec(
            item_path,
            pf.read("code", _slug),
            pf.text("name", 200, _REQUIRED),
            pf.read("active", _boolean, True),
        )
        pf.close()
        _unique(reader.problems, seen, spec.code, f"{item_path}.code", f"profile {spec.code!r}")
        profiles.append(spec)
    profile_codes = {p.code for p in profiles}

    plans: list[PlanSpec] = []
    seen = {}
    for item_path, item in f.items("plans"):
        plan = reader.plan(
            item_path,
            item,
            tz=tz,
            is_buyer="buyer" in roles,
            is_supplier="supplier" in roles,
            has_profile=lambda c: c in profile_codes or reader.catalog.has_profile(entity or "", code or "", c),
            has_lead_type=lambda c: c in lead_types or reader.catalog.has_lead_type(entity or "", c),
        )
        if plan is not None and plan.effective_from is not None:
            scope = (plan.profile, plan.lead_type, plan.side, plan.effective_from)
            _unique(reader.problems, seen, scope, item_path, "a plan with the same scope, side and start")
            plans.append(plan)
    f.close()
    return PartnerSpec(
        path=path,
        code=code,
        name=name,
        legal_name=legal_name,
        is_buyer="buyer" in roles,
        is_supplier="supplier" in roles,
        is_active=is_active,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        billing_emails=tuple(billing_emails),
        address=address,
        tax_id=tax_id,
        peppol_id=peppol_id,
        buyer_reference=buyer_reference,
        currency=own_currency,
        payment_terms_days=payment_terms,
        tax_rate_bp=tax_rate_bp,
        billing_mode=billing_mode,
        credit_limit_minor=credit_limit,
        low_balance_minor=low_balance,
        cap_daily=cap_daily,
        cap_weekly=cap_weekly,
        cap_monthly=cap_monthly,
        cap_policy=cap_policy,
        over_cap_price_micros=over_cap_price,
        returns_allowed=returns_allowed,
        return_max_age_days=return_max_age,
        return_max_share_bp=return_max_share,
        return_auto_accept=return_auto_accept,
        report_fields=tuple(report_fields),
        profiles=tuple(profiles),
        plans=tuple(plans),
    )
