"""Invoice runs: the delivery summary of a period, then issuing it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from leadbill.api.auth import FULL, require
from leadbill.api.common import DEFAULT_PAGE, keyset_page, partner_in_body, period_for
from leadbill.api.problems import not_found
from leadbill.api.schemas import ERRORS, PreviewOut, Problem, ReleaseIn, ReleaseOut, RunIn, RunIssueIn, RunOut, RunPage
from leadbill.invoicing.bounds import safety_release
from leadbill.invoicing.models import InvoiceRun
from leadbill.invoicing.selectors import money, preview_as_dict, run_as_dict
from leadbill.invoicing.services import invoice_run_issue, invoice_run_preview

router = Router(tags=["invoice runs"])


def run_out(run: InvoiceRun) -> dict[str, Any]:
    data = run_as_dict(run)
    totals = data.pop("total_minor_by_currency", {}) or {}
    data["totals"] = {currency: money(minor, currency) for currency, minor in totals.items()}
    return data


@router.post(
    "/invoice-runs/preview",
    response={200: PreviewOut, ERRORS: Problem},
    summary="Preview a period: the delivery summary per partner, with anomalies (writes nothing)",
)
def preview(request: HttpRequest, payload: RunIn) -> dict[str, Any]:
    key = require(request, *FULL)
    period = period_for(key, payload.period)
    return preview_as_dict(invoice_run_preview(entity=key.entity, period=period, partners=payload.partners))


@router.post(
    "/invoice-runs",
    response={201: RunOut, ERRORS: Problem},
    summary="Issue a period: one document per partner with billable activity",
)
def issue(request: HttpRequest, payload: RunIssueIn) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    result = invoice_run_issue(
        actor=key.actor, entity=key.entity, period=period_for(key, payload.period), partners=payload.partners,
        issue_date=payload.issue_date, draft=payload.draft, allow_open_period=payload.allow_open_period,
    )  # fmt: skip
    return Status(201, run_out(result.run))


@router.post(
    "/invoice-runs/release",
    response={201: ReleaseOut, ERRORS: Problem},
    summary="Release a partner's document the safety bounds held back; the next run issues it as it is now",
)
def release(request: HttpRequest, payload: ReleaseIn) -> Status[dict[str, Any]]:
    key = require(request, *FULL)
    partner = partner_in_body(key, payload.partner)
    done = safety_release(actor=key.actor, entity=key.entity, partner=partner, period=period_for(key, payload.period),
                          reason=payload.reason)  # fmt: skip
    return Status(201, {
        "id": done.pk, "partner": partner.code, "period": done.period_key, "total": money(done.total_minor, done.currency),
        "currency": done.currency, "reasons": done.reasons, "reason": done.reason, "released_by": done.released_by,
        "released_at": done.released_at,
    })  # fmt: skip


@router.get("/invoice-runs", response={200: RunPage, ERRORS: Problem}, summary="Past runs")
def list_runs(request: HttpRequest, limit: int = DEFAULT_PAGE, cursor: str | None = None) -> dict[str, Any]:
    key = require(request, *FULL)
    qs = InvoiceRun.objects.filter(entity=key.entity).select_related("entity")
    return keyset_page(qs, limit=limit, cursor=cursor, shape=run_out)


@router.get("/invoice-runs/{run_id}", response={200: RunOut, ERRORS: Problem}, summary="A past run")
def get_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    key = require(request, *FULL)
    run = (
        InvoiceRun.objects.select_related("entity").filter(entity=key.entity, pk=run_id).first()
        if 0 < run_id < 2**63
        else None
    )
    if run is None:
        raise not_found(f"run {run_id}")
    return run_out(run)
