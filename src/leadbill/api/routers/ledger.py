"""Prepay balances: top-ups and the ledger behind a partner's balance."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from leadbill.api.auth import FULL, READ_DOCUMENTS, require
from leadbill.api.common import amount_minor, partner_for, same_currency
from leadbill.api.invoice_schemas import BalanceOut, LedgerEntryOut, TopupIn
from leadbill.api.problems import ApiProblem, error_item
from leadbill.api.schemas import ERRORS, Problem
from leadbill.invoicing.models import LedgerEntry
from leadbill.invoicing.selectors import display_number, money, partner_balance
from leadbill.invoicing.services import topup_record

router = Router(tags=["payments and balances"])


def entry_as_dict(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "amount": money(entry.amount_minor, entry.currency),
        "currency": entry.currency,
        "document": display_number(entry.invoice) if entry.invoice_id and entry.invoice else None,
        "reference": entry.reference,
        "occurred_at": entry.occurred_at,
    }


@router.post(
    "/partners/{code}/topups", response={201: LedgerEntryOut, ERRORS: Problem}, summary="Record a prepay top-up"
)
def post_topup(request: HttpRequest, code: str, payload: TopupIn) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_for(key, code)
    same_currency(payload.currency, partner.currency, f"partner {partner.code!r}")
    occurred_at = payload.occurred_at or timezone.now()
    if occurred_at.tzinfo is None:
        message = "give occurred_at with its offset, e.g. 2026-01-05T10:00:00+01:00"
        raise ApiProblem(422, "invalid", message, errors=[error_item(message, "occurred_at")])
    entry = topup_record(
        actor=key.actor, partner=partner, amount_minor=amount_minor(payload.amount, partner.currency),
        occurred_at=occurred_at, reference=payload.reference,
    )  # fmt: skip
    return Status(201, entry_as_dict(entry))


@router.get(
    "/partners/{code}/balance", response={200: BalanceOut, ERRORS: Problem}, summary="Prepay balance and ledger"
)
def get_balance(request: HttpRequest, code: str, entries: int = 100) -> dict[str, Any]:
    key = require(request, *READ_DOCUMENTS)
    partner = partner_for(key, code)
    if not 0 <= entries <= 1000:
        message = "entries must be from 0 to 1000"
        raise ApiProblem(422, "invalid", message, errors=[{**error_item(message, "entries"), "in": "query"}])
    rows = LedgerEntry.objects.filter(partner=partner).select_related("invoice").order_by("-occurred_at", "-pk")
    return {
        "partner": partner.code,
        "billing_mode": partner.billing_mode,
        "currency": partner.currency,
        "balance": money(partner_balance(partner), partner.currency),
        "entries": [entry_as_dict(e) for e in rows[:entries]],
    }
