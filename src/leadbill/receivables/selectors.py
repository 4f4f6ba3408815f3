"""Every balance Leadbill shows, read from the receivables ledger: one place, so screens agree.

- `open_minor(invoice)` / `with_open(queryset)`: what is still open on an invoice;
- `partner_accounts(partner)`: per currency, the balance, what is open, the credit on account;
- `entity_receivables(entity, today)`: open and overdue per currency (the dashboard);
- `aging(entity, today)`: open amounts per partner in buckets of days past due.
Receipts (prepay) are not receivables: the prepay balance is `invoicing.selectors.partner_balance`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from leadbill.domain import receivables as rules
from leadbill.domain.generation import ADJUSTMENT
from leadbill.domain.money import minor_to_decimal
from leadbill.domain.tax import rate_from_bp
from leadbill.invoicing.models import OPEN_STATUSES, Adjustment, CreditedLead, Invoice, InvoiceLine, Kind
from leadbill.partners.models import Partner
from leadbill.receivables.models import Entry, EntryKind

AGING_BUCKETS = (("current", None, 0), ("1-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))
# (name, lowest days past due, highest): "current" is not yet due or due today.


def open_minor(inv: Invoice) -> int:
    """What is still open on `inv`: its total less the payments and credits applied to it."""
    if inv.kind != Kind.INVOICE or inv.pk is None:
        return 0
    return int(Entry.objects.filter(invoice=inv).aggregate(s=Sum("amount_minor"))["s"] or 0)


def overdue_q(today: date) -> Q:
    """The one overdue rule (console, portal and API filters): an open invoice, partly paid too, past its due date."""
    return Q(kind=Kind.INVOICE, status__in=OPEN_STATUSES, due_date__lt=today)


def open_by_invoice(invoice_ids: Iterable[int]) -> dict[int, int]:
    rows = Entry.objects.filter(invoice_id__in=list(invoice_ids)).values("invoice_id").annotate(s=Sum("amount_minor"))
    return {r["invoice_id"]: int(r["s"] or 0) for r in rows}


def with_open(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """`qs` with `open_minor` on each document (0 for receipts and credit notes)."""
    sums = (
        Entry.objects.filter(invoice=OuterRef("pk"))
        .order_by()
        .values("invoice")
        .annotate(s=Sum("amount_minor"))
        .values("s")
    )
    return qs.annotate(open_minor=Coalesce(Subquery(sums, output_field=BigIntegerField()), Value(0)))


def credit_on_account(partner: Partner, currency: str) -> int:
    """Credit the partner has on account in `currency` (overpayments, credit not applied yet)."""
    total = Entry.objects.filter(partner=partner, currency=currency, invoice__isnull=True).aggregate(
        s=Sum("amount_minor")
    )["s"]
    return max(0, -int(total or 0))


@dataclass
class Account:
    """A partner's receivables in one currency."""

    currency: str
    balance_minor: int = 0  # what it owes in all (negative: it is owed)
    open_minor: int = 0  # open on its invoices
    credit_minor: int = 0  # credit on account, not applied yet
    overdue_minor: int = 0
    open_invoices: int = 0
    overdue_invoices: int = 0
    invoices: list[Invoice] = field(default_factory=list)


def partner_accounts(partner: Partner, today: date | None = None) -> dict[str, Account]:
    """The partner's receivables per currency, from its ledger."""
    accounts: dict[str, Account] = {}
    rows = (
        Entry.objects.filter(partner=partner)
        .values("currency")
        .annotate(balance=Sum("amount_minor"), on_account=Sum("amount_minor", filter=Q(invoice__isnull=True)))
    )
    for row in rows:
        account = accounts.setdefault(row["currency"], Account(row["currency"]))
        account.balance_minor = int(row["balance"] or 0)
        account.credit_minor = max(0, -int(row["on_account"] or 0))
    open_qs = with_open(Invoice.objects.filter(partner=partner, kind=Kind.INVOICE, status__in=OPEN_STATUSES))
    if today is not None:  # the one overdue rule, evaluated by the database as every other screen does
        open_qs = open_qs.annotate(late=ExpressionWrapper(overdue_q(today), output_field=BooleanField()))
    for inv in open_qs.order_by("due_date", "sequence"):
        account = accounts.setdefault(inv.currency, Account(inv.currency))
        account.open_minor += inv.open_minor
        account.open_invoices += 1
        account.invoices.append(inv)
        if today is not None and inv.late:
            account.overdue_minor += inv.open_minor
            account.overdue_invoices += 1
    return accounts


def entity_receivables(entity: Any, today: date) -> dict[str, Any]:
    """Open and overdue amounts per currency, and credit on account (the dashboard's figures).

    One pass over the entity's ledger: an invoice's entries sum to what is open on it (0 once it
    is paid, credited, written off or void), and each entry carries its invoice's due date.
    """
    sums = (
        Entry.objects.filter(entity=entity)
        .values("currency")
        .annotate(
            due=Sum("amount_minor", filter=Q(invoice__isnull=False)),
            overdue=Sum("amount_minor", filter=Q(invoice__isnull=False, due_on__lt=today)),
        )
        .order_by("currency")
    )
    # credit is each partner's own: one partner's debt on account does not cancel another's credit
    credit: dict[str, int] = {}
    for row in (
        Entry.objects.filter(entity=entity, invoice__isnull=True).values("partner_id", "currency")
        .annotate(s=Sum("amount_minor")).filter(s__lt=0).order_by()
    ):  # fmt: skip
        credit[row["currency"]] = credit.get(row["currency"], 0) - int(row["s"])
    counts = {
        (r["currency"], r["late"]): r["n"]
        for r in Invoice.objects.filter(entity=entity, kind=Kind.INVOICE, status__in=OPEN_STATUSES)
        .annotate(late=ExpressionWrapper(overdue_q(today), output_field=BooleanField()))
        .values("currency", "late")
        .annotate(n=Count("pk"))
        .order_by()
    }  # fmt: skip
    rows = list(sums)
    return {
        "open": [{"currency": r["currency"], "count": counts.get((r["currency"], False), 0)
                  + counts.get((r["currency"], True), 0), "due": int(r["due"] or 0)}
                 for r in rows if r["due"]],
        "overdue": [{"currency": r["currency"], "count": counts.get((r["currency"], True), 0),
                     "due": int(r["overdue"] or 0)} for r in rows if r["overdue"]],
        "credit_on_account": [{"currency": c, "amount": credit[c]} for c in sorted(credit)],
        "drafts": Invoice.objects.filter(entity=entity, status="draft").count(),
    }  # fmt: skip


def bucket_of(days_past_due: int) -> str:
    for name, low, high in AGING_BUCKETS:
        if (low is None or days_past_due >= low) and (high is None or days_past_due <= high):
            return name
    return AGING_BUCKETS[-1][0]


def aging(entity: Any, today: date, partner: Partner | None = None) -> list[dict[str, Any]]:
    """Open amounts per partner and currency, in buckets of days past due (current, 1–30, …, 90+).

    One grouped pass over the ledger, like the bare balance: entries of an invoice sum to what
    is open on it, and each carries the invoice's due date, so a bucket is a conditional sum.
    """
    from django.db import connection

    cases, params = [], []
    for index, (_, low, high) in enumerate(AGING_BUCKETS):  # `low` days past due: due on or before today - low
        conditions = []
        if low is not None:
            conditions.append("due_on <= %s")
            params.append(today - timedelta(days=low))
        if high is not None:
            conditions.append("due_on >= %s")
            params.append(today - timedelta(days=high))
        cases.append(f"WHEN {' AND '.join(conditions)} THEN {index}")
    where, where_params = "entity_id = %s AND invoice_id IS NOT NULL", [entity.pk]
    if partner is not None:
        where, where_params = where + " AND partner_id = %s", [*where_params, partner.pk]
    # One sum per partner, currency and bucket (a hash aggregate over the ledger, like the bare
    # balance), then the partners' names; the buckets are laid side by side here.
    sql = f"""SELECT a.partner_id, p.code, p.name, a.currency, a.bucket, a.amount
                FROM (SELECT partner_id, currency, CASE {" ".join(cases)} ELSE 0 END AS bucket,
                             CAST(SUM(amount_minor) AS BIGINT) AS amount
                        FROM receivables_entry WHERE {where} GROUP BY 1, 2, 3) a
                JOIN partners_partner p ON p.id = a.partner_id
               WHERE a.amount <> 0"""  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *where_params])
        rows = cursor.fetchall()
    names = [name for name, _, _ in AGING_BUCKETS]
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for pk, code, name, currency, bucket, amount in rows:
        row = out.get((pk, currency))
        if row is None:
            row = out[(pk, currency)] = {"partner": PartnerRef(pk, code, name), "currency": currency, "total": 0,
                                         **dict.fromkeys(names, 0)}  # fmt: skip
        row[names[bucket]] += amount
        row["total"] += amount
    return sorted((r for r in out.values() if r["total"]), key=lambda r: (r["partner"].code, r["currency"]))


@dataclass(frozen=True, eq=False)
class PartnerRef:
    """The partner of an aging row: its id, code and name (10,000 model instances cost 0.25 s)."""

    pk: int
    code: str
    name: str

    def __eq__(self, other: object) -> bool:
        return getattr(other, "pk", None) == self.pk and other.__class__.__name__ in ("Partner", "PartnerRef")

    def __hash__(self) -> int:
        return hash(("partner", self.pk))


# --- credit netted on later invoices ------------------------------------------------------------


def _credits_on(document: Invoice) -> list[tuple[int | None, Decimal, int]]:
    """Each credit `document` nets, as (the invoice it corrects, or None; its tax rate; its net, positive):
    returns of leads billed on an invoice, and credit adjustments.

    An adjustment's line carries its reason as description (`domain.generation`); a line not found
    takes the document's first rate (every line of a run's document has the partner's one rate).
    """
    credits: list[tuple[int | None, Decimal, int]] = [
        (row["billed__invoice_id"], rate_from_bp(row["line__tax_rate_bp"]), int(row["net"]))
        for row in CreditedLead.objects.filter(invoice=document, voided=False)
        .values("billed__invoice_id", "line__tax_rate_bp").annotate(net=Sum("amount_minor"))
        .order_by("billed__invoice_id", "line__tax_rate_bp")
    ]  # fmt: skip
    adjustments = list(Adjustment.objects.filter(invoice=document, amount_minor__lt=0).order_by("pk"))
    if adjustments:
        lines = InvoiceLine.objects.filter(invoice=document)
        rates = dict(lines.filter(kind=ADJUSTMENT).values_list("description", "tax_rate_bp"))
        fallback = lines.values_list("tax_rate_bp", flat=True).first() or 0
        credits += [(a.corrects_id, rate_from_bp(rates.get(a.reason, fallback)), -a.amount_minor) for a in adjustments]
    return credits


def credit_note_shares(note: Invoice) -> dict[int | None, int]:
    """Each corrected invoice's share of a credit note's total, tax included (None: adjustments that
    correct no invoice), in the order they are applied: oldest invoice first.

    Shares follow the net of the note's credits per invoice (`domain.receivables.shares_of`); a run's
    credit note that also bills leads shares its net credit. The credits are read as recorded.
    """
    weight: dict[int | None, int] = {}
    for corrected, _, net in _credits_on(note):
        weight[corrected] = weight.get(corrected, 0) + net
    oldest_first = (F("due_date").asc(nulls_last=True), "sequence", "pk")  # the same order on every database
    ordered = Invoice.objects.filter(pk__in=[k for k in weight if k is not None]).order_by(*oldest_first)
    keys: list[int | None] = [*ordered.values_list("pk", flat=True)] + ([None] if None in weight else [])
    return dict(zip(keys, rules.shares_of(-note.total_minor, [weight[k] for k in keys]), strict=True))


def credit_netted_on(document: Invoice, inv: Invoice) -> int:
    """What `document` took off its total for `inv`'s charges, tax included, less what was already moved
    onto `inv` from it (`receivables.services.invoice_write_off`).

    Every invoice whose charges `document` credits takes a share of what all its attributable credits
    took off (`domain.receivables.credit_taken_off`), in proportion to its own credits' net, as a
    credit note's total is shared (`shares_of`): the shares sum to the whole, never a cent more.
    """
    by_invoice: dict[int, int] = {}
    by_rate: dict[Decimal, int] = {}
    for corrected, rate, net in _credits_on(document):
        if corrected is not None:  # a credit correcting no invoice is the partner's on any reading
            by_invoice[corrected] = by_invoice.get(corrected, 0) + net
            by_rate[rate] = by_rate.get(rate, 0) + net
    if by_invoice.get(inv.pk, 0) <= 0:
        return 0
    taxes = [(Decimal(t["rate"]), int(t["net_minor"]), int(t["tax_minor"])) for t in document.taxes]
    taken = rules.credit_taken_off(taxes, by_rate, document.currency)
    keys = sorted(by_invoice)
    share = dict(zip(keys, rules.shares_of(taken, [by_invoice[k] for k in keys]), strict=True))[inv.pk]
    moved = -int(
        Entry.objects.filter(kind=EntryKind.TRANSFER, invoice=inv, document=document).aggregate(s=Sum("amount_minor"))[
            "s"
        ]
        or 0
    )
    return max(0, share - moved)


def write_off_outcome(inv: Invoice) -> str:
    """What a write-off of `inv` did, in words for the console and the CLI: the loss, and the credit
    moved onto the later invoices that gave it (`receivables.services.invoice_write_off`)."""
    c = inv.currency
    lost = -int(Entry.objects.filter(invoice=inv, kind=EntryKind.WRITE_OFF).aggregate(s=Sum("amount_minor"))["s"] or 0)
    moved = (
        Entry.objects.filter(invoice=inv, kind=EntryKind.TRANSFER).exclude(document=inv)
        .values("document__number").annotate(s=Sum("amount_minor")).filter(s__lt=0).order_by("document__number")
    )  # fmt: skip
    parts = [f"{inv.number} is written off: {minor_to_decimal(lost, c):,} {c} lost" if lost else
             f"{inv.number} is closed: nothing is lost"]  # fmt: skip
    parts += [
        f"{minor_to_decimal(-int(m['s']), c):,} {c} already credited on {m['document__number']} for its charges "
        f"moved there, which asks for it again"
        for m in moved
    ]
    return "; ".join(parts)


# --- statement of account ------------------------------------------------------------------------

STATEMENT_LABELS = {
    "invoice": "Invoice", "credit_note": "Credit note", "payment": "Payment", "payment_reversal": "Payment reversed",
    "write_off": "Written off", "refund": "Refund of credit", "transfer": "Through the prepay balance",
}  # fmt: skip


@dataclass
class StatementLine:
    day: date
    what: str
    document: str
    reference: str
    debit_minor: int  # raises what the partner owes
    credit_minor: int  # lowers it
    balance_minor: int


@dataclass
class Statement:
    partner: Partner
    currency: str
    first_day: date
    last_day: date
    opening_minor: int
    lines: list[StatementLine]
    closing_minor: int
    aging: dict[str, int]
    credit_minor: int


def statement(partner: Partner, currency: str, first_day: date, last_day: date) -> Statement:
    """Opening balance, every document, payment and credit of the range, closing balance and aging.

    Applications of credit on account move credit between the account and an invoice without
    changing what the partner owes, so they are not lines; nor are the pairs a write-off moves
    between invoices (`services.invoice_write_off`): grouped by document and reason they add up
    to nothing. The one-sided move onto a prepay receipt's balance is a line; a payment or credit note split
    between an invoice and the account is one line: its entries are grouped by the document
    behind them (the credit note; for a payment or its reversal, the invoice it paid), not by
    where each part went.
    """
    entries = Entry.objects.filter(partner=partner, currency=currency)
    opening = int(entries.filter(occurred_on__lt=first_day).aggregate(s=Sum("amount_minor"))["s"] or 0)
    # A credit note's parts carry different reasons (one lowers a write-off, one goes on account);
    # they are one line. Entries without a document (refunds, write-offs) keep theirs apart.
    apart = Case(When(kind="credit_note", document__isnull=False, then=Value("")), default=F("reason"),
                 output_field=CharField())  # fmt: skip
    rows = (
        entries.filter(occurred_on__gte=first_day, occurred_on__lte=last_day)
        .exclude(kind=EntryKind.APPLICATION)
        .annotate(shown=Coalesce("document__number", "payment__invoice__number", "invoice__number",
                                 output_field=CharField()), apart=apart)
        .values("occurred_on", "kind", "shown", "payment_id", "payment__reference", "apart")
        .annotate(amount=Sum("amount_minor"), note=Max("reason"), reasons=Count("reason", distinct=True),
                  first=Min("id"))
        .order_by("occurred_on", "first")  # within a day, in the order they were booked
    )  # fmt: skip
    balance = opening
    lines = []
    for row in rows:
        amount = int(row["amount"] or 0)
        if not amount:
            continue
        balance += amount
        document = row["shown"] or ""
        # a line of parts with different reasons names none of them (its document says what it is)
        reference = row["payment__reference"] or (row["note"] if row["reasons"] == 1 else "") or ""
        lines.append(StatementLine(row["occurred_on"], STATEMENT_LABELS.get(row["kind"], row["kind"]), document,
                                   reference, max(amount, 0), max(-amount, 0), balance))  # fmt: skip
    buckets = {name: 0 for name, _, _ in AGING_BUCKETS}
    as_of = (
        entries.filter(occurred_on__lte=last_day, invoice__isnull=False)
        .values("invoice__due_date")
        .annotate(open=Sum("amount_minor"))
    )  # open per due date as it stood at the statement's last day
    for row in as_of:
        if row["open"] and row["open"] > 0:
            due = row["invoice__due_date"]
            buckets[bucket_of((last_day - due).days if due else 0)] += int(row["open"])
    on_account = entries.filter(occurred_on__lte=last_day, invoice__isnull=True).aggregate(s=Sum("amount_minor"))["s"]
    return Statement(partner, currency, first_day, last_day, opening, lines, balance, buckets,
                     max(0, -int(on_account or 0)))  # fmt: skip


def reversed_payments(inv: Invoice) -> set[int]:
    """The ids of the invoice's payments that were reversed."""
    return set(Entry.objects.filter(payment__invoice=inv, kind="payment_reversal").values_list("payment_id", flat=True))
