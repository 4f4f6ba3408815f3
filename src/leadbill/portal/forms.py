"""Portal forms: the partner's seller details for self-billing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadbill.console.forms import TextForm, price_text
from leadbill.domain import selfbilling as sb
from leadbill.domain.errors import DomainError
from leadbill.selfbilling.models import SellerProfile
from leadbill.selfbilling.services import default_prefix
from leadbill.web.inputs import decimal_text


class SellerDetailsForm(TextForm):
    """What a self-invoice prints as the seller: the partner's own details, tax rate, logo and footer."""

    legal_name = forms.CharField(max_length=200, label="Legal name")
    address_line1 = forms.CharField(max_length=200, label="Street address")
    address_line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    postal_code = forms.CharField(max_length=20, label="Postal code")
    city = forms.CharField(max_length=100)
    region = forms.CharField(
        max_length=100, required=False, label="State or province",
        help_text="required in the US, Canada and Australia: e.g. NY, ON, NSW",
    )  # fmt: skip
    country = forms.CharField(max_length=2, help_text="two letters, e.g. DE or US")
    tax_id = forms.CharField(max_length=40, label="Tax id", help_text="your VAT number, or your tax registration")
    email = forms.CharField(max_length=254, required=False, label="Billing email")
    phone = forms.CharField(max_length=40, required=False)
    iban = forms.CharField(max_length=40, required=False, label="IBAN", help_text="where your payouts are paid")
    bic = forms.CharField(max_length=11, required=False, label="BIC", help_text="with an IBAN; SWIFT code for wires")
    # typed as printed on a cheque ("021 000 021", "021-000-021"): stored compact by the service
    routing_number = forms.CharField(
        max_length=20, required=False, label="ABA routing number", help_text="US banks, instead of an IBAN: 9 digits"
    )
    account_number = forms.CharField(
        max_length=40, required=False, label="Account number", help_text="US banks: with the routing number"
    )
    peppol_id = forms.CharField(
        max_length=60, required=False, label="Peppol id", help_text="scheme:id, if you have one"
    )
    tax_rate = forms.CharField(
        max_length=12,
        required=False,
        label="Tax rate %",
        help_text="added to each payout; leave empty for none",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    number_prefix = forms.CharField(
        max_length=30, required=False, label="Number prefix", help_text="your self-invoices are numbered PREFIX000001…"
    )
    footer = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="printed at the foot of your self-invoices")  # fmt: skip
    logo = forms.FileField(required=False, help_text="PNG, JPEG or SVG, at most 1 MB")

    # Required for a self-invoice (the page marks them, `required_for`), but saving an incomplete
    # draft is allowed: the page says what is missing.
    def __init__(self, *args: Any, locale: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locale = locale  # the entity's: the tax rate is typed and shown as its people write numbers
        for field in self.fields.values():
            field.required = False

    def clean_tax_rate(self) -> str:
        """The typed rate ("7,5" de_DE, "7.5 %") as a plain decimal string; the service checks its range."""
        text = (self.cleaned_data.get("tax_rate") or "").strip().removesuffix("%").strip()
        try:
            return decimal_text(text, "tax_rate", locale=self.locale)
        except DomainError as exc:
            raise ValidationError(exc.message, code="number") from None

    BANK = ("iban", "bic", "routing_number", "account_number")

    @staticmethod
    def required_for(country: str) -> frozenset[str]:
        """The fields a self-invoice needs from a seller in `country` (the state where its post uses one)."""
        return frozenset(sb.required_fields(country))

    @staticmethod
    def suggested(partner: Any) -> dict[str, Any]:
        """What the business has on file for the partner: the form starts from it until details are saved."""
        return {
            "legal_name": partner.legal_name or partner.name, "address_line1": partner.address_line1,
            "address_line2": partner.address_line2, "postal_code": partner.postal_code, "city": partner.city,
            "region": partner.region, "country": partner.country, "tax_id": partner.tax_id,
            "email": partner.contact_email, "number_prefix": default_prefix(partner),
        }  # fmt: skip

    @classmethod
    def initial_from(cls, profile: SellerProfile | None, partner: Any) -> dict[str, Any]:
        """The saved details (else what the business has on file); the tax rate as the entity's locale writes it."""
        if profile is None:
            return cls.suggested(partner)
        initial = profile.details()
        rate = profile.tax_rate_bp
        shown = "" if rate is None else price_text(f"{Decimal(rate).scaleb(-2)}", partner.entity.locale, min_places=0)
        initial.update(tax_rate=shown, number_prefix=profile.number_prefix, footer=profile.footer)
        return initial
