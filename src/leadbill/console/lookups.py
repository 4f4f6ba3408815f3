"""Objects of the console's entity by their URL key; anything of another entity is 404."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse

from leadbill.catalog.models import LeadType
from leadbill.domain.errors import DomainError
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.selectors import invoice_by_number
from leadbill.partners.models import Partner
from leadbill.payouts.models import Payout
from leadbill.payouts.selectors import payouts_of
from leadbill.web.inputs import day_input


def entity_of(request: HttpRequest) -> Entity:
    return request.entity  # type: ignore[attr-defined,no-any-return]


def partner_or_404(entity: Entity, code: str) -> Partner:
    partner = Partner.objects.select_related("entity").filter(entity=entity, code=code).first()
    if partner is None:
        raise Http404("no such partner")
    return partner


PARTNER_SELECT_MAX = 300  # more partners than this: filters take a code instead of a drop-down


def partner_choices(entity: Entity, *, suppliers: bool = False) -> list[Partner] | None:
    """The partners (or only the suppliers) for a filter's drop-down, or None when there are too many to list."""
    qs = Partner.objects.filter(entity=entity)
    if suppliers:
        qs = qs.filter(is_supplier=True)
    rows = list(qs.order_by("name").only("code", "name")[: PARTNER_SELECT_MAX + 1])
    return None if len(rows) > PARTNER_SELECT_MAX else rows


def invoice_or_404(entity: Entity, reference: str, *, partner: Partner | None = None) -> Invoice:
    try:
        invoice = invoice_by_number(entity, reference)
    except LookupError:
        raise Http404("no such document") from None
    if partner is not None and invoice.partner_id != partner.pk:
        raise Http404("no such document")
    return invoice


def payout_or_404(entity: Entity, pk: int) -> Payout:
    payout = payouts_of(entity).filter(pk=pk).first()
    if payout is None:
        raise Http404("no such payout")
    return payout


def lead_type_or_none(entity: Entity, code: str | None) -> LeadType | None:
    if not code:
        return None
    return LeadType.objects.filter(entity=entity, code=code).first()


def day_or_none(text: str | None) -> date | None:
    """A filter's date, or None when empty or not a date the domain accepts (the caller says so)."""
    try:
        return day_input(text, "date") if text else None
    except DomainError:
        return None


# Keyset cursors for lists ordered newest first: the last row's (time, id), opaque to users.
def cursor_text(at: datetime | None, pk: int) -> str:
    raw = f"c1:{at.isoformat() if at else ''}:{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_read(text: str | None) -> tuple[datetime | None, int] | None:
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        version, rest = raw.split(":", 1)
        stamp, pk = rest.rsplit(":", 1)
        if version != "c1":
            return None
        return (datetime.fromisoformat(stamp) if stamp else None), int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


def perform(
    request: HttpRequest, work: Callable[[], str], *, refused: str, then: Callable[[], HttpResponse]
) -> HttpResponse:
    """The shape of every console action: call the service, flash its outcome, redirect.

    `work` returns the success message; a DomainError is shown as "<refused>: <reason>".
    """
    try:
        done = work()
    except DomainError as exc:
        messages.error(request, f"{refused}: {exc}")
    else:
        messages.success(request, done)
    return then()
