"""Writes to the receivables ledger. Every balance Leadbill shows is read from these entries.

The invoicing services call the `*_entries` helpers inside their own transaction when they
issue, credit or void a document, so the ledger can never lag a document. The public services
here (reverse a payment, apply or refund credit on account, write off) each run in one
transaction with one audit row. After every change an invoice's cached status and paid amount
are recomputed from its entries (`settle`), never edited by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.bulk import bulk_insert
from leadbill.domain import receivables as r
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.text import field_text
from leadbill.entities.models import Entity
from leadbill.entities.selectors import today_in
from leadbill.invoicing.models import OPEN_STATUSES, Invoice, Kind, LedgerEntry, LedgerKind, Payment, Status
from leadbill.invoicing.selectors import display_number, documents_crediting, drafts_crediting
from leadbill.partners.models import Partner
from leadbill.receivables.models import Entry, EntryKind
from leadbill.receivables.selectors import (
    credit_netted_on,
    credit_on_account,
    open_by_invoice,
    open_minor,
)


def in_ledger(inv: Invoice) -> bool:
    """Invoices to credit partners are receivables; receipts are settled from the prepay balance."""
    return inv.kind == Kind.INVOICE


def open_entries(invoices: Iterable[Invoice], *, actor: str) -> None:
    """The opening entry of each newly issued invoice (bulk, inside the issuing transaction)."""
    rows = [
        Entry(entity_id=inv.entity_id, partner_id=inv.partner_id, currency=inv.currency, kind=EntryKind.INVOICE,
              amount_minor=inv.total_minor, invoice=inv, document=inv, occurred_on=inv.issue_date, due_on=inv.due_date,
              created_by=actor)
        for inv in invoices if in_ledger(inv) and inv.total_minor
    ]  # fmt: skip
    bulk_insert(rows)  # COPY on PostgreSQL: a run opens ten thousand entries at once


def credit_entries(
    *, actor: str, partner: Partner, currency: str, kind: str, amount_minor: int, target: Invoice | None,
    occurred_on: date, document: Invoice | None = None, payment: Payment | None = None, reason: str = "",
) -> list[Entry]:  # fmt: skip
    """A credit (a payment, a credit note) of `amount_minor` > 0: up to what is open on `target`, the
    rest on account. Returns the entries written."""
    split = r.split_credit(amount_minor, open_minor(target) if target is not None else 0)

    def entry(amount: int, invoice: Invoice | None) -> Entry:
        return Entry(entity_id=partner.entity_id, partner=partner, currency=currency, kind=kind, amount_minor=amount,
                     invoice=invoice, due_on=invoice.due_date if invoice else None, occurred_on=occurred_on,
                     document=document, payment=payment, reason=reason,
                     created_by=actor)  # fmt: skip

    rows = []
    if split.applied:
        rows.append(entry(-split.applied, target))
    if split.on_account:
        rows.append(entry(-split.on_account, None))
    Entry.objects.bulk_create(rows)
    if target is not None:
        settle(target)
    return rows


def settle(inv: Invoice) -> Invoice:
    """The invoice's status and paid amount, recomputed from its entries."""
    sums = Entry.objects.filter(invoice=inv).aggregate(
        open=Sum("amount_minor"),
        paid=Sum("amount_minor", filter=Q(kind__in=[EntryKind.PAYMENT, EntryKind.PAYMENT_REVERSAL])),
        written_off=Sum("amount_minor", filter=Q(kind=EntryKind.WRITE_OFF)),
    )
    status = r.status_of(total=inv.total_minor, open_minor=int(sums["open"] or 0),
                         written_off=-int(sums["written_off"] or 0), void=inv.status == Status.VOID)  # fmt: skip
    paid = -int(sums["paid"] or 0)
    if (inv.status, inv.paid_minor) != (status, paid):
        inv.status, inv.paid_minor = status, paid
        Invoice.objects.filter(pk=inv.pk).update(status=status, paid_minor=paid)
    return inv


def apply_on_account(*, actor: str, partner: Partner, currency: str, invoice: Invoice | None = None,
                     amount_minor: int | None = None, occurred_on: date | None = None) -> list[tuple[Invoice, int]]:  # fmt: skip
    """Spend credit on account on `invoice`, or on open invoices oldest first; returns what went where."""
    available = credit_on_account(partner, currency)
    if amount_minor is not None:
        if amount_minor <= 0:
            raise DomainError("an amount to apply must be positive", field="amount")
        if amount_minor > available:
            raise DomainError(f"only {available} minor units of credit are on account", field="amount")
        available = amount_minor
    if available <= 0:
        return []
    targets = _open_invoices(partner, currency) if invoice is None else [invoice]
    opens = open_by_invoice([t.pk for t in targets])
    by_id = {t.pk: t for t in targets}
    spent = r.oldest_first(available, [(t.pk, opens.get(t.pk, 0)) for t in targets])
    day = occurred_on or today_in(partner.entity)
    for invoice_id, amount in spent:
        _application(actor, by_id[invoice_id], amount, day)
    return [(by_id[i], a) for i, a in spent]


def _application(actor: str, target: Invoice, amount_minor: int, day: date, reason: str = "") -> None:
    """Move `amount_minor` of the partner's credit on account onto `target` (negative: back to the account).

    An application is a pair of entries that cancel out in the partner's balance: what the invoice has
    open changes, what the partner owes does not.
    """
    Entry.objects.bulk_create([
        Entry(entity_id=target.entity_id, partner_id=target.partner_id, currency=target.currency,
              kind=EntryKind.APPLICATION, amount_minor=signed, invoice=into, due_on=into.due_date if into else None,
              occurred_on=day, reason=reason, created_by=actor)
        for signed, into in ((-amount_minor, target), (amount_minor, None))
    ])  # fmt: skip
    settle(target)


def apply_automatically(*, actor: str, partners: Sequence[Partner], currency_of: dict[int, str]) -> None:
    """After issue: partners whose entity applies credit on account automatically spend it oldest first."""
    auto = [p for p in partners if p.entity.credit_on_account == "automatic"]
    if not auto:
        return
    with_credit = (
        Entry.objects.filter(partner__in=auto, invoice__isnull=True)
        .values("partner_id", "currency")
        .annotate(total=Sum("amount_minor"))
        .filter(total__lt=0)
    )
    by_pk = {p.pk: p for p in auto}
    for row in with_credit:
        partner = by_pk[row["partner_id"]]
        if currency_of.get(partner.pk, row["currency"]) == row["currency"]:
            apply_on_account(actor=actor, partner=partner, currency=row["currency"])


def credit_spend_on_switch(*, actor: str, entity: Entity) -> None:
    """The entity has just switched to automatic credit: what its partners hold on account is spent now.

    Otherwise the switch would take effect for each partner only at its next credit or issued
    invoice, and until then the partner would be shown overdue on invoices its own credit covers.
    Inside the caller's transaction (the change of setting); one audit row per partner that spent.
    """
    holders = (
        Entry.objects.filter(entity_id=entity.pk, invoice__isnull=True)
        .values("partner_id", "currency")
        .annotate(total=Sum("amount_minor"))
        .filter(total__lt=0)
        .order_by("partner_id", "currency")
    )
    rows = list(holders)
    wanted = {r["partner_id"] for r in rows}  # locked in id order; each spends what it holds once locked
    partners = {p.pk: p for p in Partner.objects.select_for_update().filter(pk__in=wanted).order_by("pk")}
    for row in rows:
        partner = partners[row["partner_id"]]
        partner.entity = entity
        spent = apply_on_account(actor=actor, partner=partner, currency=row["currency"])
        if spent:
            audit_record(actor=actor, action="credit.applied", obj=partner, entity=entity, currency=row["currency"],
                         applied={inv.number: amount for inv, amount in spent}, why="switched to automatic")  # fmt: skip


def _open_invoices(partner: Partner, currency: str) -> list[Invoice]:
    return list(
        Invoice.objects.filter(
            partner=partner, currency=currency, kind=Kind.INVOICE, status__in=OPEN_STATUSES
        ).order_by("due_date", "sequence")
    )


def _open_on(inv: Invoice, *, done: str) -> int:
    """What is open on `inv`, an open invoice; anything else is refused, naming the document and its kind."""
    name = display_number(inv)
    if inv.kind != Kind.INVOICE:
        raise StateError(f"{name} is a {inv.get_kind_display().lower()}; only invoices {done}", field="invoice")
    if inv.status not in OPEN_STATUSES:
        raise StateError(f"{name} is {inv.get_status_display().lower()}; only open invoices {done}", field="invoice")
    left = open_minor(inv)
    if left <= 0:
        raise StateError(f"nothing is open on {name}", field="invoice")
    return left


# --- the public services -----------------------------------------------------------------------


def payment_reverse(*, actor: str, payment: Payment, reason: str) -> Payment:
    """Reverse a mistaken payment: its entries are undone and the invoice reopens."""
    reason = field_text(reason, field="reason", max_length=500)
    if not reason:
        raise DomainError("say why the payment is reversed", field="reason")
    with transaction.atomic():
        inv = Invoice.objects.select_for_update().select_related("entity").get(pk=payment.invoice_id)
        entries = list(Entry.objects.filter(payment=payment, kind=EntryKind.PAYMENT).select_for_update())
        if not entries or Entry.objects.filter(reverses__in=entries).exists():
            raise StateError("this payment is reversed already")
        Entry.objects.bulk_create([
            Entry(entity_id=e.entity_id, partner_id=e.partner_id, currency=e.currency,
                  kind=EntryKind.PAYMENT_REVERSAL, amount_minor=-e.amount_minor, invoice_id=e.invoice_id, due_on=e.due_on,
                  payment=payment, reverses=e, occurred_on=today_in(inv.entity), reason=reason, created_by=actor)
            for e in entries
        ])  # fmt: skip
        settle(inv)
        _unapply_spent_credit(actor, payment, max(e.pk for e in entries), reason)
        audit_record(actor=actor, action="payment.reversed", obj=inv, entity=inv.entity,
                     number=inv.number, amount_minor=payment.amount_minor, reason=reason, status=inv.status)  # fmt: skip
    return payment


def _unapply_spent_credit(actor: str, payment: Payment, after_entry: int, reason: str) -> None:
    """After a reversal: credit on account the payment left, already spent on other invoices, is taken back.

    An overpayment goes on account and is applied to the next open invoices; once the payment
    bounces, those invoices were paid with money that never arrived. Left alone, the partner's
    account would hold a debt on no invoice: in its balance, but never open, overdue or
    reminded. The applications made since the payment arrived (entries after `after_entry`) are
    undone newest first, up to the debt, so those invoices reopen; an earlier application was
    paid by other credit and stays.
    """
    partner_id, currency = payment.invoice.partner_id, payment.invoice.currency
    debt = (
        Entry.objects.filter(partner_id=partner_id, currency=currency, invoice__isnull=True).aggregate(
            s=Sum("amount_minor")
        )["s"]
        or 0
    )
    if debt <= 0:
        return
    applied = (
        Entry.objects.filter(partner_id=partner_id, currency=currency, kind=EntryKind.APPLICATION,
                             invoice__isnull=False, pk__gt=after_entry)
        .exclude(invoice__status=Status.VOID)
        .values("invoice_id").annotate(net=Sum("amount_minor"), last=Max("pk")).filter(net__lt=0).order_by("-last")
    )  # fmt: skip
    day = today_in(payment.invoice.entity)
    for row in applied:
        take = min(debt, -row["net"])
        target = Invoice.objects.select_for_update().get(pk=row["invoice_id"])
        _application(actor, target, -take, day, reason=f"credit from a reversed payment: {reason}"[:500])
        debt -= take
        if debt == 0:
            return


def credit_apply(*, actor: str, partner: Partner, currency: str, invoice: Invoice | None = None,
                 amount_minor: int | None = None) -> list[tuple[Invoice, int]]:  # fmt: skip
    """Finance applies credit on account to one invoice, or to open invoices oldest first."""
    with transaction.atomic():
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        if invoice is not None:
            invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
            if invoice.partner_id != partner.pk or invoice.currency != currency:
                raise DomainError(f"{invoice.number} is not {partner.code}'s in {currency}", field="invoice")
            _open_on(invoice, done="take credit")
        spent = apply_on_account(actor=actor, partner=partner, currency=currency, invoice=invoice,
                                 amount_minor=amount_minor)  # fmt: skip
        if not spent:
            raise StateError(f"{partner.code} has no credit on account in {currency} to apply")
        audit_record(actor=actor, action="credit.applied", obj=partner, entity=partner.entity,
                     currency=currency, applied={inv.number: amount for inv, amount in spent})  # fmt: skip
    return spent


def credit_refund(*, actor: str, partner: Partner, currency: str, amount_minor: int, reference: str = "") -> Entry:
    """Money paid back to the partner out of its credit on account."""
    reference = field_text(reference, field="reference", max_length=200)
    with transaction.atomic():
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        if amount_minor <= 0:
            raise DomainError("a refund must be positive", field="amount")
        if amount_minor > credit_on_account(partner, currency):
            raise DomainError(f"{partner.code} has less credit on account than that", field="amount")
        entry = Entry.objects.create(
            entity_id=partner.entity_id, partner=partner, currency=currency, kind=EntryKind.REFUND,
            amount_minor=amount_minor, occurred_on=today_in(partner.entity), reason=reference, created_by=actor,
        )  # fmt: skip
        audit_record(actor=actor, action="credit.refunded", obj=partner, entity=partner.entity, currency=currency,
                     amount_minor=amount_minor, reference=reference)  # fmt: skip
    return entry


def credit_written_off(*, actor: str, invoice: Invoice, amount_minor: int, document: Invoice) -> int:
    """A credit for charges of a written-off invoice lowers the loss; returns what it took (0 to `amount_minor`).

    The partner never paid what was written off, so a credit for those charges (a return
    accepted later) is not money to give back: it reduces the write-off, up to what was written
    off, and only the rest can be credit on account. Inside the caller's transaction.
    """
    written_off = -(
        Entry.objects.filter(invoice=invoice, kind=EntryKind.WRITE_OFF).aggregate(s=Sum("amount_minor"))["s"] or 0
    )
    take = min(amount_minor, written_off)
    if take <= 0:
        return 0
    common = {"entity_id": invoice.entity_id, "partner_id": invoice.partner_id, "currency": invoice.currency,
              "invoice": invoice, "due_on": invoice.due_date, "occurred_on": document.issue_date or today_in(invoice.entity),
              "document": document, "created_by": actor}  # fmt: skip
    Entry.objects.bulk_create([
        Entry(kind=EntryKind.CREDIT_NOTE, amount_minor=-take,
              reason=f"{document.number} credits written-off charges of {invoice.number}", **common),
        Entry(kind=EntryKind.WRITE_OFF, amount_minor=take, reason=f"loss on {invoice.number} lowered by {document.number}",
              **common),
    ])  # fmt: skip
    settle(invoice)
    return take


def invoice_write_off(*, actor: str, invoice: Invoice, reason: str) -> Invoice:
    """Close what is left open on an invoice as a loss, with its reason; the invoice is written off."""
    reason = field_text(reason, field="reason", max_length=500)
    if not reason:
        raise DomainError("say why the amount is written off", field="reason")
    with transaction.atomic():
        inv = Invoice.objects.select_for_update().select_related("entity", "partner").get(pk=invoice.pk)
        left = _open_on(inv, done="are written off")
        names = drafts_crediting(inv)  # drafted while `inv` was owed: issued now, they would credit what was never paid
        if names:
            raise StateError(f"{names} credits {inv.number}; discard {names} before writing off {inv.number}")
        day = today_in(inv.entity)
        moved = _credit_moved_back(actor, inv, left, day)
        left -= sum(moved.values())
        if left > 0:
            Entry.objects.create(
                entity_id=inv.entity_id, partner_id=inv.partner_id, currency=inv.currency, kind=EntryKind.WRITE_OFF,
                amount_minor=-left, invoice=inv, due_on=inv.due_date, occurred_on=day, reason=reason, created_by=actor,
            )  # fmt: skip
        settle(inv)
        audit_record(actor=actor, action="invoice.written_off", obj=inv, entity=inv.entity, number=inv.number,
                     amount_minor=left, reason=reason, moved=moved)  # fmt: skip
    return inv


def _credit_moved_back(actor: str, inv: Invoice, left: int, day: date) -> dict[str, int]:
    """Before a write-off: what later invoices already credited for `inv`'s charges moves onto them.

    A return of `inv`'s lead netted on February's invoice lowered what February asks; the lead's
    charge is still open on `inv`. Written off as it stands, that charge would be lost twice: in
    the write-off and in February's credit. So that part of what is open moves onto the invoice
    that gave the credit (a pair of entries: what the partner owes is unchanged, February asks
    for it again, and `inv` is written off only for the charges never credited), oldest document
    first, up to what is open. Recorded per document, so a second write-off after a reversed
    payment never moves it twice; voiding the document moves it back (`transfers_undo`).
    Returns what moved, by document number.
    """
    moved: dict[str, int] = {}
    documents = (  # not credit notes: each settles `inv` first with its share (`_apply_credit_note`)
        documents_crediting(inv).filter(kind__in=[Kind.INVOICE, Kind.RECEIPT]).select_for_update()
        .order_by("issue_date", "sequence", "pk")
    )  # fmt: skip
    for document in documents:  # locked, then read: a void of one of them has finished
        if left <= 0:
            break
        if document.status in (Status.DRAFT, Status.VOID, Status.WRITTEN_OFF):
            continue  # written off too: its loss and this one are the same money either way
        amount = min(left, credit_netted_on(document, inv))
        if amount <= 0:
            continue
        reason = f"credited on {document.number} for charges of {inv.number}, written off"
        sides = ((-amount, inv), (amount, document)) if in_ledger(document) else ((-amount, inv),)
        Entry.objects.bulk_create([
            Entry(entity_id=inv.entity_id, partner_id=inv.partner_id, currency=inv.currency, kind=EntryKind.TRANSFER,
                  amount_minor=signed, invoice=into, due_on=into.due_date, occurred_on=day, document=document,
                  reason=reason, created_by=actor)
            for signed, into in sides
        ])  # fmt: skip
        if in_ledger(document):
            settle(document)
        else:  # a prepay receipt charged the balance less: the balance pays it now
            _prepay_entry(actor, document, LedgerKind.RECEIPT, -amount, reason)
        audit_record(actor=actor, action="invoice.credit_moved_in", obj=document, entity=inv.entity,
                     number=document.number, amount_minor=amount, source=inv.number, reason=reason)  # fmt: skip
        moved[document.number or ""] = amount
        left -= amount
    return moved


def written_off_before(inv: Invoice) -> bool:
    """Whether `inv` was written off, in part or in full, even if a reversed payment has reopened it."""
    return (
        Entry.objects.filter(invoice=inv)
        .filter(Q(kind=EntryKind.WRITE_OFF) | (Q(kind=EntryKind.TRANSFER) & ~Q(document=inv)))
        .exists()
    )


def transfers_undo(*, actor: str, document: Invoice, day: date) -> None:
    """A voided document no longer credits anything: what a write-off moved onto it is written off.

    The write-off closed the source invoice, writing off all of it but the charges the document
    had credited, which moved onto the document. Void, the document's credit is released (those
    returns are due again), so those charges are written off with the rest: the source stays
    closed, its loss grows by them, and the returns, due again, lower that loss through a credit
    note, as any return of a written-off invoice does. On the document, what is open gives the
    amount back; the rest (credit already applied to the document) goes on account, so the void
    document is left at zero, never below. Inside the void's transaction.
    """
    rows = (
        Entry.objects.filter(kind=EntryKind.TRANSFER, document=document).exclude(invoice=document)
        .exclude(invoice__isnull=True).values("invoice_id").annotate(s=Sum("amount_minor")).filter(s__lt=0)
        .order_by("invoice_id")
    )  # fmt: skip
    still_open = max(open_minor(document), 0)  # a receipt: nothing open, its balance takes it back
    for row in rows:
        source = Invoice.objects.select_for_update().get(pk=row["invoice_id"])
        amount = -int(row["s"])
        back = min(amount, still_open)
        still_open -= back
        reason = f"{document.number} is void: the charges of {source.number} it credited are written off"

        def entry(
            kind: str, signed: int, into: Invoice | None, source: Invoice = source, reason: str = reason
        ) -> Entry:
            return Entry(entity_id=source.entity_id, partner_id=source.partner_id, currency=source.currency, kind=kind,
                         amount_minor=signed, invoice=into, due_on=into.due_date if into else None, occurred_on=day,
                         document=document if kind == EntryKind.TRANSFER else None, reason=reason,
                         created_by=actor)  # fmt: skip

        rows_out = [entry(EntryKind.TRANSFER, amount, source), entry(EntryKind.WRITE_OFF, -amount, source)]
        if not in_ledger(document):
            _prepay_entry(actor, document, LedgerKind.REVERSAL, amount, reason)
        elif back:
            rows_out.append(entry(EntryKind.TRANSFER, -back, document))
        if in_ledger(document) and amount - back:
            rows_out.append(entry(EntryKind.TRANSFER, -(amount - back), None))
        Entry.objects.bulk_create(rows_out)
        settle(source)
        audit_record(actor=actor, action="invoice.written_off", obj=source, entity=document.entity,
                     number=source.number, amount_minor=amount, reason=reason, moved={})  # fmt: skip
    if in_ledger(document):
        settle(document)


def _prepay_entry(actor: str, receipt: Invoice, kind: str, amount_minor: int, reason: str) -> None:
    """An entry on the prepay balance for `receipt` (positive: the balance grows)."""
    LedgerEntry.objects.create(
        entity_id=receipt.entity_id, partner_id=receipt.partner_id, kind=kind, amount_minor=amount_minor,
        currency=receipt.currency, invoice=receipt, reference=reason[:200], occurred_at=timezone.now(),
        created_by=actor,
    )  # fmt: skip
