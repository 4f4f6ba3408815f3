"""Console forms: they collect text; the services and the set-up file's reader do the checking."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadbill.domain.errors import DomainError
from leadbill.domain.money import parse_decimal
from leadbill.domain.numbers import whole_number
from leadbill.domain.text import check_text, unsafe_character
from leadbill.partners.models import BillingMode
from leadbill.payouts.services import ManualLine
from leadbill.web.models import Role

MODELS = [("flat", "Flat: one price per lead"), ("graduated", "Graduated tiers: each lead priced by its own tier"),
          ("volume", "Volume tiers: all leads at the tier the period's count reaches"),
          ("delivered", "Delivered price: the price carried on each delivery")]  # fmt: skip


class _TextValidator:
    """Refuses a control character in a typed value, naming it (`leadbill.domain.text`)."""

    def __init__(self, *, multiline: bool) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if isinstance(value, str) and (problem := unsafe_character(value, multiline=self.multiline)):
            raise ValidationError(problem, code="control_character")


class TextForm(forms.Form):
    """A form whose every text field refuses control characters; the base of the console and portal forms.

    Each CharField (and EmailField, SlugField, ...) gets the one check of `domain.text`: a
    Textarea is multi-line (tab and line breaks allowed), any other text input one line. A
    field a subclass adds after `__init__` should call `guard_text`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            self.guard_text(field)

    @staticmethod
    def guard_text(field: forms.Field) -> None:
        if isinstance(field, forms.CharField):
            field.validators.append(_TextValidator(multiline=isinstance(field.widget, forms.Textarea)))


class PartnerForm(TextForm):
    """The partner's terms; saved through the set-up file's reader (one set of rules and messages)."""

    code = forms.SlugField(max_length=60, help_text="the name deliveries and files use; cannot change later")
    name = forms.CharField(max_length=200)
    legal_name = forms.CharField(max_length=200, required=False)
    is_buyer = forms.BooleanField(required=False, initial=True, label="Buys leads (gets invoices)")
    is_supplier = forms.BooleanField(required=False, label="Supplies leads (gets payouts)")
    active = forms.BooleanField(required=False, initial=True)
    contact_name = forms.CharField(max_length=200, required=False, label="Contact name")
    contact_email = forms.CharField(max_length=254, required=False, label="Contact email")
    contact_phone = forms.CharField(max_length=40, required=False, label="Contact phone")
    billing_emails = forms.CharField(required=False, help_text="where invoices go; separate several with commas")
    line1 = forms.CharField(max_length=200, required=False, label="Address")
    line2 = forms.CharField(max_length=200, required=False, label="Address, second line")
    postal_code = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, required=False, help_text="two letters, e.g. DE")
    tax_id = forms.CharField(max_length=40, required=False, label="Tax id (VAT number)")
    buyer_reference = forms.CharField(max_length=100, required=False)
    billing_mode = forms.ChoiceField(choices=BillingMode.choices)
    payment_terms_days = forms.CharField(
        required=False, label="Payment terms (days)", help_text="empty: the entity's default"
    )
    tax_rate = forms.CharField(required=False, label="Tax rate (%)", help_text="empty: the entity's rate")
    credit_limit = forms.CharField(required=False)
    low_balance_alert = forms.CharField(required=False, label="Low-balance alert (prepay)")
    cap_daily = forms.CharField(required=False, label="Daily cap (leads)")
    cap_weekly = forms.CharField(required=False, label="Weekly cap")
    cap_monthly = forms.CharField(required=False, label="Monthly cap")
    returns_allowed = forms.BooleanField(required=False, label="Returns allowed")
    return_max_age_days = forms.CharField(required=False, label="Return within (days)")
    return_max_share = forms.CharField(required=False, label="Max share returned (%)")
    return_auto_accept = forms.BooleanField(required=False, label="Accept returns automatically")

    # set-up file path -> form field, for the reader's problems
    PATHS = {
        "contact.name": "contact_name", "contact.email": "contact_email", "contact.phone": "contact_phone",
        "address.line1": "line1", "address.line2": "line2", "address.postal_code": "postal_code",
        "address.city": "city", "address.country": "country", "caps.daily": "cap_daily", "caps.weekly": "cap_weekly",
        "caps.monthly": "cap_monthly", "returns.allowed": "returns_allowed", "returns.max_age_days": "return_max_age_days",
        "returns.max_share": "return_max_share", "returns.auto_accept": "return_auto_accept", "roles": "is_buyer",
    }  # fmt: skip

    def field_for(self, path: str) -> str | None:
        if path in self.PATHS:
            return self.PATHS[path]
        head = path.split("[")[0].split(".")[0]
        return head if head in self.fields else None

    def as_mapping(self) -> dict[str, object]:
        """The set-up file's partner mapping of the fields this form shows; empty text clears a field.

        Fields the form does not show (currency, Peppol id, report fields, ...) are not in it, so
        saving the form keeps them (`loader.services.partner_apply` changes only what it is given).
        """
        d = self.cleaned_data

        def opt(name: str) -> str | None:
            value = (d.get(name) or "").strip()
            return value or None

        def whole(name: str) -> int | str | None:
            value = opt(name)
            number = whole_number(value)
            return value if number is None else number

        emails = [e.strip() for e in (d.get("billing_emails") or "").replace(";", ",").split(",") if e.strip()]
        return {
            "code": d["code"], "name": d["name"], "legal_name": d.get("legal_name") or "",
            "roles": [r for r, on in (("buyer", d.get("is_buyer")), ("supplier", d.get("is_supplier"))) if on],
            "active": bool(d.get("active")),
            "contact": {"name": d.get("contact_name") or "", "email": d.get("contact_email") or "",
                        "phone": d.get("contact_phone") or ""},
            "billing_emails": emails,
            "address": {"line1": d.get("line1") or "", "line2": d.get("line2") or "",
                        "postal_code": d.get("postal_code") or "", "city": d.get("city") or "",
                        "country": (d.get("country") or "").upper()},
            "tax_id": d.get("tax_id") or "", "buyer_reference": d.get("buyer_reference") or "",
            "billing_mode": d["billing_mode"], "payment_terms_days": whole("payment_terms_days"),
            "tax_rate": opt("tax_rate"), "credit_limit": opt("credit_limit"), "low_balance_alert": opt("low_balance_alert"),
            "caps": {"daily": whole("cap_daily"), "weekly": whole("cap_weekly"), "monthly": whole("cap_monthly")},
            "returns": {"allowed": bool(d.get("returns_allowed")), "max_age_days": whole("return_max_age_days"),
                        "max_share": opt("return_max_share"), "auto_accept": bool(d.get("return_auto_accept"))},
        }  # fmt: skip

    @classmethod
    def initial_from(cls, mapping: dict[str, object]) -> dict[str, object]:
        m: dict = mapping  # type: ignore[type-arg]
        return {
            "code": m["code"], "name": m["name"], "legal_name": m["legal_name"], "is_buyer": "buyer" in m["roles"],
            "is_supplier": "supplier" in m["roles"], "active": m["active"], "contact_name": m["contact"]["name"],
            "contact_email": m["contact"]["email"], "contact_phone": m["contact"]["phone"],
            "billing_emails": ", ".join(m["billing_emails"]), **{k: m["address"][k] for k in ("line1", "line2", "postal_code", "city", "country")},
            "tax_id": m["tax_id"], "buyer_reference": m["buyer_reference"], "billing_mode": m["billing_mode"],
            "payment_terms_days": m["payment_terms_days"] or "", "tax_rate": m["tax_rate"] or "",
            "credit_limit": m["credit_limit"] or "", "low_balance_alert": m["low_balance_alert"] or "",
            "cap_daily": m["caps"]["daily"] or "", "cap_weekly": m["caps"]["weekly"] or "", "cap_monthly": m["caps"]["monthly"] or "",
            "returns_allowed": m["returns"]["allowed"], "return_max_age_days": m["returns"]["max_age_days"] or "",
            "return_max_share": m["returns"]["max_share"] or "", "return_auto_accept": m["returns"]["auto_accept"],
        }  # fmt: skip


class PlanForm(TextForm):
    model = forms.ChoiceField(choices=MODELS, label="Pricing model")
    effective_from = forms.DateField(label="In effect from", widget=forms.DateInput(attrs={"type": "date"}),
                                     help_text="local midnight in the entity's time zone")  # fmt: skip
    profile = forms.ChoiceField(required=False, label="Only for profile")
    lead_type = forms.ChoiceField(required=False, label="Only for lead type")
    price = forms.CharField(required=False, label="Price per lead", help_text="flat model, e.g. 2.50")

    TIER_ROWS = 6

    def __init__(
        self, *args: object, profiles: list[tuple[str, str]], lead_types: list[tuple[str, str]], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["profile"].choices = [("", "all profiles"), *profiles]
        self.fields["lead_type"].choices = [("", "all lead types"), *lead_types]

    def tiers(self) -> list[dict[str, object]]:
        rows = []
        for i in range(self.TIER_ROWS):
            up_to = (self.data.get(f"up_to_{i}") or "").strip()
            price = (self.data.get(f"tier_price_{i}") or "").strip()
            if up_to or price:
                number = whole_number(up_to)
                rows.append({"up_to": (up_to or None) if number is None else number, "price": price})
        return rows

    def as_mapping(self) -> dict[str, object]:
        """The set-up file's plan mapping; the pricing model validates its own part."""
        model = self.data.get("model", "")
        raw: dict[str, object] = {"model": model, "from": self.data.get("effective_from", "")}
        if self.data.get("profile"):
            raw["profile"] = self.data["profile"]
        if self.data.get("lead_type"):
            raw["lead_type"] = self.data["lead_type"]
        if model == "flat":
            raw["price"] = (self.data.get("price") or "").strip()
        elif model in ("graduated", "volume"):
            raw["tiers"] = self.tiers()
        return raw


class InviteForm(TextForm):
    name = forms.CharField(max_length=150)
    email = forms.EmailField()
    main_contact = forms.BooleanField(required=False, label="Main contact (may accept agreements for the partner)")


class StaffForm(TextForm):
    name = forms.CharField(max_length=150)
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices)


class ManualPayoutForm(TextForm):
    """A payout by hand (commissions, bonuses): a supplier, a period and a few lines; the service checks them."""

    partner = forms.ChoiceField(label="Supplier")
    period = forms.CharField(
        max_length=40, help_text="a month such as 2026-10, a week 2026-W44, or 2026-10-01..2026-10-15"
    )
    currency = forms.CharField(max_length=3, required=False, help_text="empty: the supplier's currency")
    note = forms.CharField(max_length=500, required=False)

    LINE_ROWS = 5
    MAX_QUANTITY = 1_000_000
    MAX_UNIT_PRICE = Decimal(1_000_000_000)  # bounds what a typo can pay out (and what a bigint column holds)

    def __init__(self, *args: object, suppliers: list[tuple[str, str]] | None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if suppliers is None:  # too many for a drop-down: a code
            self.fields["partner"] = forms.CharField(max_length=60, label="Supplier", help_text="the supplier's code")
            self.guard_text(self.fields["partner"])
        else:
            self.fields["partner"].choices = [("", "choose a supplier"), *suppliers]

    def line_rows(self) -> list[tuple[int, str, str, str]]:
        """(row, description, quantity, unit price) as typed, for the form's table."""

        def typed(name: str, i: int) -> str:
            return str(self.data.get(f"{name}_{i}") or "").strip()

        return [(i, typed("description", i), typed("quantity", i), typed("price", i)) for i in range(self.LINE_ROWS)]

    def lines(self) -> list[tuple[int, ManualLine]]:
        """The filled rows as (row number, line); empty rows are skipped."""
        out = []
        for i, description, quantity, price in self.line_rows():
            if not (description or quantity or price):
                continue
            where = f"line {i + 1}"
            check_text(description, field=f"{where} description")
            count = whole_number(quantity, max_digits=7)
            if count is None or count > self.MAX_QUANTITY:
                raise DomainError(f"a whole number of at most {self.MAX_QUANTITY:,}", field=f"{where} quantity")
            unit_price = parse_decimal(price[:30], field=f"{where} unit price")
            if abs(unit_price) > self.MAX_UNIT_PRICE:
                raise DomainError(f"at most {self.MAX_UNIT_PRICE:,}", field=f"{where} unit price")
            out.append((i + 1, ManualLine(description=description, quantity=count, unit_price=unit_price)))
        return out
