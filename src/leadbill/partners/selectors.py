"""Reads of partners, shaped like the set-up file's partner mapping (so a read can be written back)."""

from __future__ import annotations

from typing import Any

from leadbill.domain.money import unit_price_text
from leadbill.invoicing.selectors import money
from leadbill.partners.models import Partner


def percent_text(bp: int | None) -> str | None:
    """Basis points as a percentage string: 1900 -> "19", 750 -> "7.5"."""
    if bp is None:
        return None
    whole, rest = divmod(bp, 100)
    return f"{whole}" if not rest else f"{whole}.{rest:02d}".rstrip("0")


def partner_as_dict(partner: Partner) -> dict[str, Any]:
    c = partner.currency
    return {
        "code": partner.code,
        "name": partner.name,
        "legal_name": partner.legal_name,
        "roles": [role for role, on in (("buyer", partner.is_buyer), ("supplier", partner.is_supplier)) if on],
        "active": partner.is_active,
        "contact": {"name": partner.contact_name, "email": partner.contact_email, "phone": partner.contact_phone},
        "billing_emails": list(partner.billing_emails or []),
        "address": {
            "line1": partner.address_line1,
            "line2": partner.address_line2,
            "postal_code": partner.postal_code,
            "city": partner.city,
            "region": partner.region,
            "country": partner.country,
        },
        "tax_id": partner.tax_id,
        "peppol_id": partner.peppol_id,
        "buyer_reference": partner.buyer_reference,
        "currency": c,
        "payment_terms_days": partner.payment_terms_days,
        "tax_rate": percent_text(partner.tax_rate_bp),
        "billing_mode": partner.billing_mode,
        "credit_limit": money(partner.credit_limit_minor, c),
        "low_balance_alert": money(partner.low_balance_minor, c),
        "caps": {
            "daily": partner.cap_daily,
            "weekly": partner.cap_weekly,
            "monthly": partner.cap_monthly,
            "policy": partner.cap_policy,
            "over_cap_price": unit_price_text(partner.over_cap_price_micros, c)
            if partner.over_cap_price_micros is not None
            else None,
        },
        "returns": {
            "allowed": partner.returns_allowed,
            "max_age_days": partner.return_max_age_days,
            "max_share": percent_text(partner.return_max_share_bp),
            "auto_accept": partner.return_auto_accept,
        },
        "report_fields": list(partner.report_fields or []),
        "profiles": [
            # .all(), sorted here, uses the caller's prefetch: one query for a whole page of partners
            {"code": p.code, "name": p.name, "active": p.is_active}
            for p in sorted(partner.profiles.all(), key=lambda p: p.code)
        ],
    }
