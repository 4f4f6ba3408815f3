"""The validated document: one frozen dataclass per section of the set-up file (entities, lead types,
partners, profiles, plans), with the row values they store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from leadbill.documents.logos import Logo


@dataclass(frozen=True, slots=True)
class Address:
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    region: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class LeadTypeSpec:
    path: str
    code: str
    name: str

    def columns(self) -> dict[str, Any]:
        return {"name": self.name}


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    path: str
    code: str
    name: str
    is_active: bool

    def columns(self) -> dict[str, Any]:
        return {"name": self.name, "is_active": self.is_active}


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """One price-plan version; `config` is already normalised by its pricing model."""

    path: str
    model: str
    config: Mapping[str, Any]
    effective_from: datetime  # aware, UTC
    side: str
    profile: str | None
    lead_type: str | None


@dataclass(frozen=True, slots=True)
class PartnerSpec:
    path: str
    code: str
    name: str
    legal_name: str
    is_buyer: bool
    is_supplier: bool
    is_active: bool
    contact_name: str
    contact_email: str
    contact_phone: str
    billing_emails: tuple[str, ...]
    address: Address
    tax_id: str
    peppol_id: str
    buyer_reference: str
    currency: str
    payment_terms_days: int | None
    tax_rate_bp: int | None
    billing_mode: str
    credit_limit_minor: int | None
    low_balance_minor: int | None
    cap_daily: int | None
    cap_weekly: int | None
    cap_monthly: int | None
    cap_policy: str
    over_cap_price_micros: int | None
    returns_allowed: bool
    return_max_age_days: int | None
    return_max_share_bp: int | None
    return_auto_accept: bool
    report_fields: tuple[str, ...]
    profiles: tuple[ProfileSpec, ...]
    plans: tuple[PlanSpec, ...]

    def columns(self) -> dict[str, Any]:
        """The values of the Partner row (apart from its entity and code)."""
        return {
            "name": self.name,
            "legal_name": self.legal_name,
            "is_buyer": self.is_buyer,
            "is_supplier": self.is_supplier,
            "is_active": self.is_active,
            "contact_name": self.contact_name,
            "contact_email": self.contact_email,
            "contact_phone": self.contact_phone,
            "billing_emails": list(self.billing_emails),
            "address_line1": self.address.line1,
            "address_line2": self.address.line2,
            "postal_code": self.address.postal_code,
            "city": self.address.city,
            "region": self.address.region,
            "country": self.address.country,
            "tax_id": self.tax_id,
            "peppol_id": self.peppol_id,
            "buyer_reference": self.buyer_reference,
            "currency": self.currency,
            "payment_terms_days": self.payment_terms_days,
            "tax_rate_bp": self.tax_rate_bp,
            "billing_mode": self.billing_mode,
            "credit_limit_minor": self.credit_limit_minor,
            "low_balance_minor": self.low_balance_minor,
            "cap_daily": self.cap_daily,
            "cap_weekly": self.cap_weekly,
            "cap_monthly": self.cap_monthly,
            "cap_policy": self.cap_policy,
            "over_cap_price_micros": self.over_cap_price_micros,
            "returns_allowed": self.returns_allowed,
            "return_max_age_days": self.return_max_age_days,
            "return_max_share_bp": self.return_max_share_bp,
            "return_auto_accept": self.return_auto_accept,
            "report_fields": list(self.report_fields),
        }


@dataclass(frozen=True, slots=True)
class EntitySpec:
    path: str
    slug: str
    legal_name: str
    address: Address
    tax_id: str
    email: str
    phone: str
    iban: str
    bic: str
    payment_accounts: tuple[dict[str, str], ...]
    remit_to: str
    currency: str
    timezone: str
    locale: str
    invoice_prefix: str
    credit_note_prefix: str
    payment_terms_days: int
    tax_rate_bp: int
    peppol_id: str
    invoice_footer: str
    logo: Logo | None
    lead_types: tuple[LeadTypeSpec, ...]
    partners: tuple[PartnerSpec, ...]
    mail_from_name: str = ""
    mail_from_address: str = ""
    invitation_text: str = ""
    return_reasons: tuple[str, ...] = ()
    issue_and_send: bool | None = None  # None: not in the file, the console's choice stays
    credit_on_account: str | None = None  # "automatic" or "manual"; None: not in the file, the console's choice stays
    safety_bounds: dict[str, int | None] | None = None  # None: not in the file, the console's choice stays
    books: dict[str, Any] | None = None  # AccountMapping columns; None: not in the file, the mapping stays

    def columns(self) -> dict[str, Any]:
        """The values of the Entity row (apart from its slug)."""
        return {
            **({} if self.issue_and_send is None else {"issue_and_send": self.issue_and_send}),
            **({} if self.credit_on_account is None else {"credit_on_account": self.credit_on_account}),
            **(self.safety_bounds or {}),
            "legal_name": self.legal_name,
            "address_line1": self.address.line1,
            "address_line2": self.address.line2,
            "postal_code": self.address.postal_code,
            "city": self.address.city,
            "region": self.address.region,
            "country": self.address.country,
            "tax_id": self.tax_id,
            "email": self.email,
            "phone": self.phone,
            "iban": self.iban,
            "bic": self.bic,
            "payment_accounts": [dict(a) for a in self.payment_accounts],
            "remit_to": self.remit_to,
            "currency": self.currency,
            "timezone": self.timezone,
            "locale": self.locale,
            "invoice_prefix": self.invoice_prefix,
            "credit_note_prefix": self.credit_note_prefix,
            "default_payment_terms_days": self.payment_terms_days,
            "default_tax_rate_bp": self.tax_rate_bp,
            "peppol_id": self.peppol_id,
            "invoice_footer": self.invoice_footer,
            "logo_sha256": self.logo.sha256 if self.logo else "",
            "mail_from_name": self.mail_from_name,
            "mail_from_address": self.mail_from_address,
            "invitation_text": self.invitation_text,
            "return_reasons": list(self.return_reasons),
        }


@dataclass(frozen=True, slots=True)
class SetupDocument:
    entities: tuple[EntitySpec, ...]


class Catalog(Protocol):
    """What already exists outside the file, for plans that name a profile or lead type."""

    def has_profile(self, entity: str, partner: str, code: str) -> bool: ...

    def has_lead_type(self, entity: str, code: str) -> bool: ...


class EmptyCatalog:
    """Nothing exists outside the file: every reference must be resolved within it."""

    def has_profile(self, entity: str, partner: str, code: str) -> bool:
        return False

    def has_lead_type(self, entity: str, code: str) -> bool:
        return False
