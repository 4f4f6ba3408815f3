"""Request and response shapes, as published in the OpenAPI document.

Money is `Amount`: a decimal string, beside the object's `currency`. Bodies that are
read by hand (delivery and return batches, partner and plan mappings, so that each bad
row or value is reported by position instead of failing the whole request) are still
described here, and published as components by `extra_components`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticCustomError

from leadbill.domain.errors import DomainError
from leadbill.domain.periods import check_day, check_instant
from leadbill.domain.text import unsafe_character


def _one_line(value: str) -> str:
    """A text field of a JSON body: a control character is refused, naming the field (`domain.text`)."""
    problem = unsafe_character(value)
    if problem is not None:
        raise PydanticCustomError("text", problem)
    return value


def _multi_line(value: str) -> str:
    problem = unsafe_character(value, multiline=True)
    if problem is not None:
        raise PydanticCustomError("text", problem)
    return value


OneLine = AfterValidator(_one_line)
MultiLine = AfterValidator(_multi_line)

Amount = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["12.50"], description="decimal string")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"], description="ISO 4217 code")]
Code = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")]
Text = Annotated[str, Field(max_length=500), MultiLine]


def _day(value: date) -> date:
    try:
        return check_day(value)
    except DomainError as exc:
        raise ValueError(exc.message) from None


def _instant(value: datetime) -> datetime:
    try:
        return check_instant(value)
    except DomainError as exc:
        raise ValueError(exc.message) from None


Day = Annotated[date, AfterValidator(_day)]
Instant = Annotated[datetime, AfterValidator(_instant), Field(description="ISO 8601 with offset")]
MAX_BATCH = 10_000
# The refusals any operation may give, each as a Problem: bad JSON or cursor, no key, wrong
# scope, not found, wrong state, too large, not JSON, invalid input.
ERRORS = frozenset({400, 401, 403, 404, 409, 413, 415, 422})


# --- problems ---------------------------------------------------------------------------------


class ProblemItem(Schema):
    pointer: str = Field(description="JSON pointer (RFC 6901) to the bad value in the request")
    field: str
    message: str
    row: int | None = Field(None, description="index of the row in a batch")
    in_: str | None = Field(None, alias="in", description="query, path or header for parameters")


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str = Field(examples=["urn:leadbill:problem:invalid"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemItem] | None = None


# --- hand-read bodies (documented, then parsed row by row) ----------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeliveryIn(_Strict):
    """One delivered lead. `external_id` is the idempotency key: sending it again changes nothing."""

    external_id: Annotated[str, Field(min_length=1, max_length=120)]
    partner: Code = Field(description="the buyer's code")
    profile: Code | None = Field(None, description="the buyer's delivery profile")
    lead_type: Code
    lead_id: Annotated[str, Field(min_length=1, max_length=120)]
    delivered_at: Instant = Field(description="ISO 8601 with offset")
    price: Amount | None = Field(None, description="the price carried on the delivery (delivered-price plans)")
    currency: Currency
    source: Code | None = Field(None, description="the supplier the lead was bought from")
    cost: Amount | None = Field(None, description="what the lead cost from its supplier")
    fields: dict[str, str | int | float | bool | None] | None = Field(None, description="the lead's own fields")


class DeliveryBatchIn(_Strict):
    deliveries: Annotated[list[DeliveryIn], Field(min_length=1, max_length=MAX_BATCH)]
    all_or_nothing: bool = Field(False, description="refuse the whole batch if any row is bad")


class ReturnIn(_Strict):
    external_id: Annotated[str, Field(min_length=1, max_length=120, description="the delivery's external id"), OneLine]
    reason: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    requested_at: Instant | None = None


class ReturnRowIn(ReturnIn):
    status: Literal["accepted", "rejected"] | None = Field(None, description="a decision made elsewhere")


class ReturnBatchIn(_Strict):
    returns: Annotated[list[ReturnRowIn], Field(min_length=1, max_length=MAX_BATCH)]
    all_or_nothing: bool = False


class PlanIn(BaseModel):
    """A price-plan version, as in the set-up file: `model` and `from`, plus the model's own keys
    (`price` for flat; `tiers` for graduated and volume; nothing for delivered)."""

    model_config = ConfigDict(extra="allow")
    model: Literal["flat", "graduated", "volume", "delivered"]
    from_: str = Field(alias="from", description="ISO date (local midnight) or date-time", examples=["2026-01-01"])
    side: Literal["sell", "buy"] | None = None
    profile: Code | None = None
    lead_type: Code | None = None


class PartnerIn(BaseModel):
    """A partner, as in the set-up file (docs/setup-file.md): what it lists replaces what is stored."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    legal_name: str | None = None
    roles: list[Literal["buyer", "supplier"]] | None = None
    active: bool | None = None
    contact: dict[str, str | None] | None = None
    billing_emails: list[str] | None = None
    address: dict[str, str | None] | None = None
    tax_id: str | None = None
    peppol_id: str | None = None
    buyer_reference: str | None = None
    currency: Currency | None = None
    payment_terms_days: int | None = None
    tax_rate: Amount | None = None
    billing_mode: Literal["credit", "prepay"] | None = None
    credit_limit: Amount | None = None
    low_balance_alert: Amount | None = None
    caps: dict[str, int | str | None] | None = Field(
        None, description='daily, weekly, monthly (leads); policy: flag, exclude or price; over_cap_price: "0.50"'
    )
    returns: dict[str, Any] | None = None
    report_fields: list[str] | None = None
    profiles: list[dict[str, Any]] | None = None
    plans: list[PlanIn] | None = None


HAND_READ = (DeliveryIn, DeliveryBatchIn, ReturnIn, ReturnRowIn, ReturnBatchIn, PlanIn, PartnerIn)


def extra_components() -> dict[str, Any]:
    _, schema = models_json_schema(
        [(model, "validation") for model in HAND_READ], ref_template="#/components/schemas/{model}"
    )
    return dict(schema.get("$defs", {}))


def body(model: type[BaseModel], description: str = "") -> dict[str, Any]:
    """`openapi_extra` for an operation that reads `model` by hand."""
    return {
        "requestBody": {
            "required": True,
            "description": description or (model.__doc__ or "").strip(),
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }


def binary(media_type: str, description: str) -> dict[str, Any]:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


# --- responses ----------------------------------------------------------------------------------


class Contact(Schema):
    name: str
    email: str
    phone: str


class Address(Schema):
    line1: str
    line2: str
    postal_code: str
    city: str
    region: str = Field("", description="state, province or territory (BT-54); ISO 3166-2 code for US, CA, AU")
    country: str


class Caps(Schema):
    daily: int | None
    weekly: int | None
    monthly: int | None
    policy: Literal["flag", "exclude", "price"] = Field(
        "flag", description="over-cap leads: billed and flagged, left out of the invoice, or billed at over_cap_price"
    )
    over_cap_price: str | None = Field(None, description="price per lead beyond a cap (policy price)")


class ReturnPolicy(Schema):
    allowed: bool
    max_age_days: int | None
    max_share: Amount | None = Field(description="percent")
    auto_accept: bool


class ProfileOut(Schema):
    code: str
    name: str
    active: bool


class PartnerOut(Schema):
    """A partner in the set-up file's shape, so what you GET you can PUT back."""

    code: str
    name: str
    legal_name: str
    roles: list[str]
    active: bool
    contact: Contact
    billing_emails: list[str]
    address: Address
    tax_id: str
    peppol_id: str
    buyer_reference: str
    currency: Currency
    payment_terms_days: int | None
    tax_rate: Amount | None = Field(description="percent; null: the entity's")
    billing_mode: str
    credit_limit: Amount | None
    low_balance_alert: Amount | None
    caps: Caps
    returns: ReturnPolicy
    report_fields: list[str]
    profiles: list[ProfileOut]


class PartnerPage(Schema):
    items: list[PartnerOut]
    next_cursor: str | None


class Change(Schema):
    kind: str
    key: str
    action: str
    fields: list[str]


class PartnerSaved(Schema):
    partner: PartnerOut
    created: int
    updated: int
    unchanged: int
    changes: list[Change]


class PlanOut(Schema):
    id: int
    model: str
    side: str
    profile: str | None
    lead_type: str | None
    effective_from: datetime
    effective_to: datetime | None
    config: dict[str, Any]


class PlanSaved(Schema):
    plan: PlanOut
    action: Literal["created", "updated", "unchanged"]


class LeadTypeIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=200), OneLine]


class LeadTypeOut(Schema):
    code: str
    name: str


class ProfileIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    active: bool | None = None  # left out: an existing profile keeps its state, a new one is active


class DeliveryOut(Schema):
    external_id: str
    partner: str
    profile: str | None
    lead_type: str
    lead_id: str
    delivered_at: datetime
    price: Amount | None
    currency: Currency
    source: str | None
    cost: Amount | None
    fields: dict[str, Any]
    created_at: datetime


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class RowError(Schema):
    row: int
    field: str
    pointer: str
    message: str


class BatchOut(Schema):
    received: int = Field(description="rows in the batch")
    accepted: int = Field(description="rows recorded: created now or already present with the same data")
    created: int
    already_present: int
    decided: int = Field(0, description="returns batches: requested returns decided by a status")
    rejected: int = Field(description="bad rows, not recorded")
    errors: list[RowError]


class ReturnOut(Schema):
    id: int
    external_id: str
    partner: str
    reason: str
    status: Literal["requested", "accepted", "rejected"]
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str
    decision_note: str


class ReturnPage(Schema):
    items: list[ReturnOut]
    next_cursor: str | None


class DecisionIn(Schema):
    note: Annotated[str, Field(max_length=500), MultiLine] = ""


class BulkDecisionIn(Schema):
    ids: Annotated[list[int], Field(min_length=1, max_length=MAX_BATCH)]
    decision: Literal["accept", "reject"]
    note: Annotated[str, Field(max_length=500), MultiLine] = ""


class DecisionError(Schema):
    id: int
    message: str


class BulkDecisionOut(Schema):
    decided: list[ReturnOut]
    errors: list[DecisionError]


class RunIn(Schema):
    period: Annotated[str, Field(examples=["2026-01", "2026-W03", "2026-01-01..2026-01-15"], max_length=40)]
    partners: Annotated[list[Code], Field(max_length=MAX_BATCH)] | None = None


class RunIssueIn(RunIn):
    issue_date: Day | None = None
    draft: bool = Field(False, description="write drafts for review instead of issuing")
    allow_open_period: bool = Field(False, description="issue a period that has not ended yet")


class PreviewLine(Schema):
    kind: str
    description: str
    quantity: int
    unit_price: str | None
    amount: Amount


class CapEffectOut(Schema):
    policy: Literal["exclude", "price"]
    leads: int = Field(description="leads over cap left out (exclude) or billed at the over-cap price (price)")
    amount: Amount = Field(description="what the policy changed before tax, against billing them under the plan")
    price: str | None = Field(None, description="the over-cap price (policy price)")


class PreviewPartner(Schema):
    partner: str
    name: str
    billing_mode: str
    document: str | None
    currency: Currency
    delivered: int
    returned: int
    billable: int
    late: int
    subtotal: Amount
    tax: Amount
    total: Amount
    closing_balance: Amount | None
    anomalies: list[str]
    held: list[str] = Field(
        default_factory=list,
        description="why the safety bounds hold the document back; a run issues it once released (/invoice-runs/release)",
    )
    cap_effect: CapEffectOut | None = None
    lines: list[PreviewLine]


class PeriodOut(Schema):
    key: str
    label: str
    start: datetime
    end: datetime


class PreviewOut(Schema):
    entity: str
    period: PeriodOut
    already_invoiced: list[str]
    partners: list[PreviewPartner]


class RunOut(Schema):
    id: int
    entity: str
    period: str
    mode: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    issued: list[str] = []
    drafts: list[int] = []
    skipped_already_invoiced: list[str] = []
    failures: dict[str, str] = {}
    held: dict[str, list[str]] = Field(
        default_factory=dict, description="partners held by the safety bounds, not issued: partner code -> reasons"
    )
    totals: dict[str, Amount] = Field(default_factory=dict, description="issued amount per currency")


class ReleaseIn(Schema):
    period: Annotated[str, Field(examples=["2026-01"], max_length=40)]
    partner: Code
    reason: Annotated[str, Field(min_length=1, max_length=500), OneLine]


class ReleaseOut(Schema):
    id: int
    partner: str
    period: str
    total: Amount = Field(description="the released document's total: a later one above it is held again")
    currency: Currency
    reasons: list[str] = Field(description="why it was held")
    reason: str
    released_by: str
    released_at: datetime


class RunPage(Schema):
    items: list[RunOut]
    next_cursor: str | None
