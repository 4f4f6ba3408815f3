"""Console forms: they collect text; the services and the set-up file's reader do the checking."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from django import forms
from django.core.exceptions import ValidationError

from leadbill.domain.errors import DomainError
from leadbill.domain.money import exponent, parse_decimal
from leadbill.domain.numbers import whole_number
from leadbill.domain.text import check_text, unsafe_character
from leadbill.partners.models import BillingMode, CapPolicy
from leadbill.payouts.services import ManualLine
from leadbill.web.inputs import decimal_text, whole_example
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
    region = forms.CharField(max_length=100, required=False, label="State or province",
                             help_text="US, CA, AU: its code, e.g. NY")  # fmt: skip
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
    cap_policy = forms.ChoiceField(choices=CapPolicy.choices, initial=CapPolicy.FLAG, label="Leads over a cap", required=False,
                                   help_text="left out: not billed, marked on the invoice that left them out (voiding it to re-bill frees them)")  # fmt: skip
    over_cap_price = forms.CharField(required=False, label="Over-cap price per lead",
                                     help_text='for "Bill them at the over-cap price"',
                                     widget=forms.TextInput(attrs={"inputmode": "decimal"}))  # fmt: skip
    returns_allowed = forms.BooleanField(required=False, label="Returns allowed")
    return_max_age_days = forms.CharField(required=False, label="Return within (days)")
    return_max_share = forms.CharField(required=False, label="Max share returned (%)")
    return_auto_accept = forms.BooleanField(required=False, label="Accept returns automatically")

    # set-up file path -> form field, for the reader's problems
    PATHS = {
        "contact.name": "contact_name", "contact.email": "contact_email", "contact.phone": "contact_phone",
        "address.line1": "line1", "address.line2": "line2", "address.postal_code": "postal_code",
        "address.city": "city", "address.region": "region", "address.country": "country", "caps.daily": "cap_daily", "caps.weekly": "cap_weekly",
        "caps.monthly": "cap_monthly", "caps.policy": "cap_policy", "caps.over_cap_price": "over_cap_price", "returns.allowed": "returns_allowed", "returns.max_age_days": "return_max_age_days",
        "returns.max_share": "return_max_share", "returns.auto_accept": "return_auto_accept", "roles": "is_buyer",
    }  # fmt: skip

    # numbers people type in the entity's locale ("2.500,00" de_DE), handed on as plain decimal strings
    DECIMALS = ("tax_rate", "credit_limit", "low_balance_alert", "over_cap_price", "return_max_share")
    PERCENTS = ("tax_rate", "return_max_share")  # a typed "%" after the number is allowed
    WHOLES = ("payment_terms_days", "cap_daily", "cap_weekly", "cap_monthly", "return_max_age_days")

    def __init__(self, *args: Any, locale: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locale = locale  # the entity's: what its people type and what the form shows back
        self.number_problems: dict[str, str] = {}
        for name in (*self.DECIMALS, *self.WHOLES):
            self.fields[name].widget.attrs.setdefault("inputmode", "decimal" if name in self.DECIMALS else "numeric")

    def field_for(self, path: str) -> str | None:
        if path in self.PATHS:
            return self.PATHS[path]
        head = path.split("[")[0].split(".")[0]
        return head if head in self.fields else None

    def as_mapping(self) -> dict[str, object]:
        """The set-up file's partner mapping of the fields this form shows; empty text clears a field.

        Fields the form does not show (currency, Peppol id, report fields, ...) are not in it, so
        saving the form keeps them (`loader.services.partner_apply` changes only what it is given).
        Numbers are read in the entity's locale and handed on as plain decimal strings (whole
        numbers as integers), so the set-up file's reader checks them as it checks a file; a number
        the locale cannot read is left out of the mapping and named in `number_problems`.
        """
        d = self.cleaned_data
        self.number_problems = {}

        def opt(name: str) -> str | None:
            value = (d.get(name) or "").strip()
            return value or None

        def number(name: str) -> str | None:
            text = opt(name)
            if text is not None and name in self.PERCENTS:
                text = text.removesuffix("%").strip()
            try:
                return decimal_text(text, name, locale=self.locale) or None
            except DomainError as exc:
                self.number_problems[name] = exc.message
                return None

        def whole(name: str) -> int | None:
            text = opt(name)
            value = None if text is None else whole_number(text, locale=self.locale)
            if text is not None and value is None:
                self.number_problems[name] = f"a whole number such as {whole_example(self.locale)}"
            return value

        emails = [e.strip() for e in (d.get("billing_emails") or "").replace(";", ",").split(",") if e.strip()]
        mapping: dict[str, Any] = {
            "code": d["code"], "name": d["name"], "legal_name": d.get("legal_name") or "",
            "roles": [r for r, on in (("buyer", d.get("is_buyer")), ("supplier", d.get("is_supplier"))) if on],
            "active": bool(d.get("active")),
            "contact": {"name": d.get("contact_name") or "", "email": d.get("contact_email") or "",
                        "phone": d.get("contact_phone") or ""},
            "billing_emails": emails,
            "address": {"line1": d.get("line1") or "", "line2": d.get("line2") or "",
                        "postal_code": d.get("postal_code") or "", "city": d.get("city") or "",
                        "region": d.get("region") or "", "country": (d.get("country") or "").upper()},
            "tax_id": d.get("tax_id") or "", "buyer_reference": d.get("buyer_reference") or "",
            "billing_mode": d["billing_mode"], "payment_terms_days": whole("payment_terms_days"),
            "tax_rate": number("tax_rate"), "credit_limit": number("credit_limit"), "low_balance_alert": number("low_balance_alert"),
            "caps": {"daily": whole("cap_daily"), "weekly": whole("cap_weekly"), "monthly": whole("cap_monthly"),
                     # only what was posted: a form without these fields keeps the partner's policy
                     **({"policy": d["cap_policy"]} if d.get("cap_policy") else {}),
                     **({"over_cap_price": number("over_cap_price")} if "over_cap_price" in self.data else {})},
            "returns": {"allowed": bool(d.get("returns_allowed")), "max_age_days": whole("return_max_age_days"),
                        "max_share": number("return_max_share"), "auto_accept": bool(d.get("return_auto_accept"))},
        }  # fmt: skip
        for name in self.number_problems:  # left out: the partner keeps its value until the text is fixed
            path = next((p for p, field in self.PATHS.items() if field == name), name).split(".")
            (mapping[path[0]] if len(path) > 1 else mapping).pop(path[-1], None)
        return mapping

    @classmethod
    def initial_from(cls, mapping: dict[str, object], locale: str) -> dict[str, object]:
        """The form's fields for a partner read by `partner_as_dict`, numbers as `locale` writes them."""
        m: dict = mapping  # type: ignore[type-arg]
        places = exponent(m["currency"]) if m.get("currency") else 2

        def shown(stored: object, min_places: int = 0) -> str:
            if stored is None or stored == "":
                return ""
            if isinstance(stored, int):
                return format_decimal(stored, locale=locale)
            return price_text(str(stored), locale, min_places=min_places)

        return {
            "code": m["code"], "name": m["name"], "legal_name": m["legal_name"], "is_buyer": "buyer" in m["roles"],
            "is_supplier": "supplier" in m["roles"], "active": m["active"], "contact_name": m["contact"]["name"],
            "contact_email": m["contact"]["email"], "contact_phone": m["contact"]["phone"],
            "billing_emails": ", ".join(m["billing_emails"]), **{k: m["address"].get(k, "") for k in ("line1", "line2", "postal_code", "city", "region", "country")},
            "tax_id": m["tax_id"], "buyer_reference": m["buyer_reference"], "billing_mode": m["billing_mode"],
            "payment_terms_days": shown(m["payment_terms_days"]), "tax_rate": shown(m["tax_rate"]),
            "credit_limit": shown(m["credit_limit"], places), "low_balance_alert": shown(m["low_balance_alert"], places),
            "cap_daily": shown(m["caps"]["daily"]), "cap_weekly": shown(m["caps"]["weekly"]), "cap_monthly": shown(m["caps"]["monthly"]),
            "cap_policy": m["caps"].get("policy") or "flag", "over_cap_price": shown(m["caps"].get("over_cap_price"), places),
            "returns_allowed": m["returns"]["allowed"], "return_max_age_days": shown(m["returns"]["max_age_days"]),
            "return_max_share": shown(m["returns"]["max_share"]), "return_auto_accept": m["returns"]["auto_accept"],
        }  # fmt: skip


class PlanForm(TextForm):
    """A price-plan version as typed; numbers read in the entity's locale, checked by the set-up file's reader.

    Tiers come as numbered rows (`up_to_<i>`, `tier_price_<i>`), any number of them up to
    MAX_TIERS; an "add tier" button posts the form back with one more empty row, so it works
    without JavaScript. Blank rows are skipped.
    """

    model = forms.ChoiceField(choices=MODELS, label="Pricing model")
    effective_from = forms.DateField(label="In effect from", widget=forms.DateInput(attrs={"type": "date"}),
                                     help_text="local midnight in the entity's time zone")  # fmt: skip
    profile = forms.ChoiceField(required=False, label="Only for profile")
    lead_type = forms.ChoiceField(required=False, label="Only for lead type")
    price = forms.CharField(required=False, label="Price per lead", help_text="flat model, e.g. 2.50",
                            widget=forms.TextInput(attrs={"inputmode": "decimal"}))  # fmt: skip
    copy_to = forms.MultipleChoiceField(required=False, label="Also give this plan to",
                                        widget=forms.CheckboxSelectMultiple)  # fmt: skip

    MAX_TIERS = 200  # far beyond any real tier table; bounds the work a posted form can ask for
    MIN_TIER_ROWS = 3
    # set-up file path -> what the form calls it
    LABELS = {"price": "Price per lead", "from": "In effect from", "model": "Pricing model", "tiers": "Tiers",
              "profile": "Only for profile", "lead_type": "Only for lead type", "side": "Side"}  # fmt: skip

    def __init__(
        self,
        *args: object,
        profiles: list[tuple[str, str]],
        lead_types: list[tuple[str, str]],
        locale: str,
        copy_choices: list[tuple[str, str]] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.locale = locale
        self.fields["profile"].choices = [("", "all profiles"), *profiles]
        self.fields["lead_type"].choices = [("", "all lead types"), *lead_types]
        self.fields["copy_to"].choices = copy_choices or []
        self.number_problems: dict[str, str] = {}

    def _typed(self, name: str) -> str:
        source = self.data if self.is_bound else self.initial
        return str(source.get(name) or "").strip()

    def _tier_indices(self) -> list[int]:
        """Row numbers present in the form (typed or initial), in order; bounded by the post's field count."""
        source = self.data if self.is_bound else self.initial
        indices = set()
        for key in source:
            for prefix in ("up_to_", "tier_price_"):
                if key.startswith(prefix) and (i := whole_number(key[len(prefix) :], max_digits=4)) is not None:
                    indices.add(i)
        return sorted(indices)

    def tier_rows(self, problems: dict[str, str] | None = None) -> list[tuple[int, str, str, str, str]]:
        """(row, up to, price, its up-to problem, its price problem) as typed, blank rows included, plus
        spare rows (one more after "add tier"); `problems` by set-up path, as `as_mapping` numbered them."""
        problems = problems or {}
        where = getattr(self, "tier_of_row", {})

        def problem(i: int, key: str) -> str:
            return problems.get(f"tiers[{where[i]}].{key}", "") if i in where else ""

        filled = [i for i in self._tier_indices() if self._typed(f"up_to_{i}") or self._typed(f"tier_price_{i}")]
        count = max(self.MIN_TIER_ROWS, (filled[-1] + 2) if filled else 0)
        if self.is_bound and "add_tier" in self.data:
            count = max(count, len(self._tier_indices())) + 1
        count = min(count, self.MAX_TIERS + 1)
        return [(i, self._typed(f"up_to_{i}"), self._typed(f"tier_price_{i}"), problem(i, "up_to"),
                 problem(i, "price")) for i in range(count)]  # fmt: skip

    def tiers(self) -> list[dict[str, object]]:
        """The filled rows in order; `tier_of_row` maps a row to its place among them (problems name that)."""
        rows: list[dict[str, object]] = []
        self.tier_of_row: dict[int, int] = {}
        for i in self._tier_indices():
            up_to, price = self._typed(f"up_to_{i}"), self._typed(f"tier_price_{i}")
            if not (up_to or price):
                continue
            where = len(rows)
            self.tier_of_row[i] = where
            if where == self.MAX_TIERS:
                self.number_problems["tiers"] = f"at most {self.MAX_TIERS} tiers"
                break
            number = whole_number(up_to, locale=self.locale) if up_to else None
            if up_to and number is None:
                self.number_problems[f"tiers[{where}].up_to"] = (
                    f"a whole number of leads, such as {whole_example(self.locale)}"
                )
            rows.append({"up_to": number, "price": self._number(price, f"tiers[{where}].price")})
        return rows

    def _number(self, text: str, path: str) -> str:
        try:
            return decimal_text(text, path, locale=self.locale)
        except DomainError as exc:
            self.number_problems[path] = exc.message
            return text

    def as_mapping(self) -> dict[str, object]:
        """The set-up file's plan mapping; the pricing model validates its own part.

        Numbers the locale cannot read go to `number_problems` (by set-up path) instead.
        """
        self.number_problems = {}
        model = self._typed("model")
        raw: dict[str, object] = {"model": model, "from": self._typed("effective_from")}
        for key in ("profile", "lead_type"):
            if self._typed(key):
                raw[key] = self._typed(key)
        if model == "flat":
            raw["price"] = self._number(self._typed("price"), "price")
        elif model in ("graduated", "volume"):
            raw["tiers"] = self.tiers()
        return raw

    def label_of(self, path: str) -> str:
        """A set-up path as the form names it: "tiers[1].price" -> "Tier 2 price", numbered as the table's rows."""
        if path.startswith("tiers[") and "]" in path:
            index = whole_number(path[6 : path.index("]")], max_digits=4)
            rest = path[path.index("]") + 2 :]
            if index is not None:
                rows = {tier: row for row, tier in getattr(self, "tier_of_row", {}).items()}
                number = rows.get(index, index) + 1
                return f"Tier {number} " + {"price": "price", "up_to": "up to"}.get(rest, rest or "").strip()
        return self.LABELS.get(path, path)

    @staticmethod
    def initial_from(plan: Any, locale: str) -> dict[str, object]:
        """The form's fields for an existing version, prices written as the locale writes them."""
        initial: dict[str, object] = {"model": plan.model,
                                      "profile": plan.profile.code if plan.profile_id else "",
                                      "lead_type": plan.lead_type.code if plan.lead_type_id else ""}  # fmt: skip
        if "price" in plan.config:
            initial["price"] = price_text(plan.config["price"], locale)
        for i, tier in enumerate(plan.config.get("tiers", [])):
            initial[f"up_to_{i}"] = "" if tier["up_to"] is None else format_decimal(tier["up_to"], locale=locale)
            initial[f"tier_price_{i}"] = price_text(tier["price"], locale)
        return initial


def price_text(stored: str, locale: str, *, min_places: int = 2) -> str:
    """A stored number ("2.5") as the locale writes it in a form ("2,50" de_DE): its decimals kept, padded to
    `min_places` (a price's two, an amount's currency decimals, none for a percentage)."""
    value = Decimal(stored)
    places = max(min_places, -int(value.normalize().as_tuple().exponent))
    pattern = f"#,##0.{'0' * places}" if places else "#,##0"
    return format_decimal(value, format=pattern, locale=locale, decimal_quantization=False)


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

    def __init__(
        self, *args: object, suppliers: list[tuple[str, str]] | None, locale: str | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.locale = locale  # the entity's: quantities and prices read as its people type them
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
            count = whole_number(quantity, max_digits=7, locale=self.locale)
            if count is None or count > self.MAX_QUANTITY:
                raise DomainError(f"a whole number of at most {self.MAX_QUANTITY:,}", field=f"{where} quantity")
            unit_price = parse_decimal(price[:30], field=f"{where} unit price", locale=self.locale)
            if abs(unit_price) > self.MAX_UNIT_PRICE:
                raise DomainError(f"at most {self.MAX_UNIT_PRICE:,}", field=f"{where} unit price")
            out.append((i + 1, ManualLine(description=description, quantity=count, unit_price=unit_price)))
        return out
