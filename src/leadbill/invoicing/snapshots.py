"""Frozen copies of the parties' details, stored on a document when it is issued.

Documents render from these (STYLE 11), never from live rows, so renaming a partner
does not change an invoice issued last year.
"""

from __future__ import annotations

from typing import Any

from leadbill.entities.models import Entity
from leadbill.entities.services import payment_details
from leadbill.partners.models import Partner


def seller_snapshot(entity: Entity) -> dict[str, Any]:
    return {
        "name": entity.legal_name,
        "address_line1": entity.address_line1,
        "address_line2": entity.address_line2,
        "postal_code": entity.postal_code,
        "city": entity.city,
        "region": entity.region,
        "country": entity.country,
        "tax_id": entity.tax_id,
        "email": entity.email,
        "phone": entity.phone,
        "iban": entity.iban,
        "bic": entity.bic,
        "locale": entity.locale,
        "timezone": entity.timezone,
        "peppol_id": entity.peppol_id,
        "logo_sha256": entity.logo_sha256,
        "footer": entity.invoice_footer,
        **payment_details(entity),
    }


def buyer_snapshot(partner: Partner) -> dict[str, Any]:
    return {
        "code": partner.code,
        "name": partner.legal_name or partner.name,
        "contact_name": partner.contact_name,
        "contact_email": partner.contact_email,
        "contact_phone": partner.contact_phone,
        "billing_emails": list(partner.billing_emails or []),
        "address_line1": partner.address_line1,
        "address_line2": partner.address_line2,
        "postal_code": partner.postal_code,
        "city": partner.city,
        "region": partner.region,
        "country": partner.country,
        "tax_id": partner.tax_id,
        "peppol_id": partner.peppol_id,
        "buyer_reference": partner.buyer_reference,
        "billing_mode": partner.billing_mode,
    }
