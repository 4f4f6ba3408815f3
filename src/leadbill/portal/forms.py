"""Portal forms: the partner's seller details for self-billing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from leadbill.console.forms import TextForm
from leadbill.payouts.models import SellerProfile
from leadbill.payouts.services import default_prefix


class SellerDetailsForm(TextForm):
    """What a self-invoice prints as the seller: the partner's own details, tax rate, logo and footer."""

    legal_name = forms.CharField(max_length=200, label="Legal name")
    address_line1 = forms.CharField(max_length=200, label="Street address")
    address_line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    postal_code = forms.CharField(max_length=20, label="Postal code")
    city = forms.CharField(max_length=100)
    country = forms.CharField(max_length=2, help_text="two letters, e.g. DE")
    tax_id = forms.CharField(max_length=40, label="Tax id", help_text="your VAT number, or your tax registration")
    email = forms.CharField(max_length=254, required=False, label="Billing email")
    phone = forms.CharField(max_length=40, required=False)
    iban = forms.CharField(max_length=40, required=False, label="IBAN", help_text="where your payouts are paid")
    bic = forms.CharField(max_length=11, required=False, label="BIC")
    peppol_id = forms.CharField(
        max_length=60, required=False, label="Peppol id", help_text="scheme:id, if you have one"
    )
    tax_rate = forms.CharField(
        max_length=8, required=False, label="Tax rate %", help_text="added to each payout; leave empty for none"
    )
    number_prefix = forms.CharField(
        max_length=20, required=False, label="Number prefix", help_text="your self-invoices are numbered PREFIX000001…"
    )
    footer = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="printed at the foot of your self-invoices")  # fmt: skip
    logo = forms.FileField(required=False, help_text="PNG, JPEG or SVG, at most 1 MB")

    # Required for a self-invoice, but saving an incomplete draft is allowed: the page says what is missing.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    @classmethod
    def initial_from(cls, profile: SellerProfile | None, partner: Any) -> dict[str, Any]:
        if profile is None:
            return {
                "legal_name": partner.legal_name or partner.name, "address_line1": partner.address_line1,
                "address_line2": partner.address_line2, "postal_code": partner.postal_code, "city": partner.city,
                "country": partner.country, "tax_id": partner.tax_id, "email": partner.contact_email,
                "number_prefix": default_prefix(partner),
            }  # fmt: skip
        initial = profile.details()
        rate = profile.tax_rate_bp
        initial.update(tax_rate="" if rate is None else f"{Decimal(rate).scaleb(-2).normalize():f}", number_prefix=profile.number_prefix,
                       footer=profile.footer)  # fmt: skip
        return initial
