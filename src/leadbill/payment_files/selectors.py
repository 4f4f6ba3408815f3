"""Reads of payment files and payout spreadsheets, scoped to one entity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db.models import Prefetch, QuerySet

from leadbill.domain.money import micros_to_unit_price, minor_to_decimal
from leadbill.entities.models import Entity
from leadbill.invoicing.selectors import money
from leadbill.payment_files.builders.sheets import PayoutRow
from leadbill.payment_files.models import AchOriginator, PaymentFile, PaymentFileItem
from leadbill.payouts.models import Payout, PayoutLine
from leadbill.payouts.selectors import payout_amounts


def paying_numbers(payout: Payout) -> list[str]:
    """The numbers of the self-billed documents a payment of `payout` settles: its live self-invoice and
    self-billed credit note (not reversed ones, nor their reversals), from what was prefetched."""
    return [d.number for d in sorted(payout.documents.all(), key=lambda d: d.pk) if d.is_live]


SHEET_MAX_PAYOUTS = 20_000  # one spreadsheet; more is a date range to split


def files_of(entity: Entity) -> QuerySet[PaymentFile]:
    """The entity's payment files, newest first, without their bytes."""
    return PaymentFile.objects.filter(entity=entity).defer("content").order_by("-created_at", "-pk")


def file_of(entity: Entity, pk: int) -> PaymentFile | None:
    if not 0 < pk < 2**63:
        return None
    return PaymentFile.objects.filter(entity=entity, pk=pk).first()


def items_of(file: PaymentFile) -> list[PaymentFileItem]:
    return list(file.items.select_related("payout", "payout__partner").order_by("position"))


def live_files_holding(payout_ids: Sequence[int]) -> dict[int, PaymentFile]:
    """Payout id → the live (not cancelled) file it sits in, for the payouts that sit in one."""
    items = PaymentFileItem.objects.filter(payout_id__in=list(payout_ids), active=True).select_related("file")
    return {item.payout_id: item.file for item in items.defer("file__content")}


def ach_originator_of(entity: Entity) -> AchOriginator | None:
    return AchOriginator.objects.filter(entity=entity).first()


def file_as_dict(file: PaymentFile, *, items: Sequence[PaymentFileItem] | None = None) -> dict[str, Any]:
    c = file.currency
    out: dict[str, Any] = {
        "id": file.pk, "kind": file.kind, "currency": c, "status": file.status, "message_id": file.message_id,
        "name": file.name, "media_type": file.media_type, "sha256": file.sha256, "size": file.size,
        "total": money(file.total_minor, c), "count": file.count, "execution_date": file.execution_date.isoformat(),
        "skipped": list(file.skipped), "created_by": file.created_by, "created_at": file.created_at.isoformat(),
        "sent_on": file.sent_on.isoformat() if file.sent_on else None,
        "sent_at": file.sent_at.isoformat() if file.sent_at else None,
        "cancelled_at": file.cancelled_at.isoformat() if file.cancelled_at else None,
        "cancel_reason": file.cancel_reason or None,
    }  # fmt: skip
    if items is not None:
        out["items"] = [
            {"payout": i.payout_id, "partner": i.payout.partner.code, "amount": money(i.amount_minor, c),
             "end_to_end_id": i.end_to_end_id, "remittance": i.remittance, "payee": i.payee_name,
             "account": i.account, "active": i.active, "payout_status": i.payout.status}
            for i in items
        ]  # fmt: skip
    return out


def sheet_payouts(
    entity: Entity, *, ids: Sequence[int] | None = None, first_day: date | None = None, last_day: date | None = None,
    status: str | None = None,
) -> QuerySet[Payout]:  # fmt: skip
    """Payouts for a spreadsheet: a selection by id, or those whose period ends within [first_day, last_day]."""
    qs = Payout.objects.filter(entity=entity).select_related("partner", "entity")
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    if first_day is not None:
        qs = qs.filter(period_last_day__gte=first_day)
    if last_day is not None:
        qs = qs.filter(period_last_day__lte=last_day)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("period_first_day", "partner__code", "pk")


def sheet_rows(payouts: QuerySet[Payout]) -> list[PayoutRow]:
    """Each payout with its lines, in six queries however many (payouts, lines, documents, `payout_amounts`).

    Net, tax and total as the pages show them (`payout_amounts`): before ready, the tax the
    self-invoice will carry, with `tax_estimated` true.
    """
    qs = list(
        payouts.prefetch_related(Prefetch("lines", queryset=PayoutLine.objects.order_by("position")), "documents")[
            :SHEET_MAX_PAYOUTS
        ]
    )
    shown = payout_amounts(qs)
    rows = []
    for po in qs:
        c = po.currency
        numbers = " ".join(paying_numbers(po))
        amounts = shown[po.pk]
        values = (
            po.pk, po.partner.code, po.partner.name, po.period_key, po.period_first_day, po.period_last_day, c,
            po.status, minor_to_decimal(amounts.net_minor, c), minor_to_decimal(amounts.tax_minor, c),
            minor_to_decimal(amounts.total_minor, c), po.leads_paid, po.leads_deducted, numbers, po.paid_on,
            po.paid_reference, amounts.estimated,
        )  # fmt: skip
        lines = tuple(
            (line.position, line.kind, line.description, line.quantity,
             micros_to_unit_price(line.unit_price_micros) if line.unit_price_micros is not None else None,
             minor_to_decimal(line.amount_minor, c))
            for line in po.lines.all()
        )  # fmt: skip
        rows.append(PayoutRow(values, lines))
    return rows
