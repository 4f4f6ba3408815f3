"""Bank statements in: each credit the bank booked is matched to an invoice and recorded as its payment.

`bank_statement_import` reads a camt.053/054 or a bank CSV (`bankfiles`), skips the entries
imported before (one `BankEntry` per entity, account and bank reference: a replay records
nothing), and for each new credit, in this order:

1. a valid ISO 11649 RF reference (the structured reference, or one found in the free text)
   whose body is the reference body of one of the entity's invoices (`body_of(number)`);
2. one of the entity's invoice numbers in the remittance text, word-bounded, any case;
3. the one open invoice of the entity whose open amount is exactly the amount, among the
   payer's invoices when the debtor's name is a partner's name or legal name; more than one
   (or none) leaves the entry unmatched.

A match is recorded with `payment_record` (the ledger's one way in: overpayments become credit
on account there). The currency must be the invoice's. Each entry is its own transaction, so a
failure on one keeps the others; unmatched entries wait for a person (`bank_entry_match`). One
audit row per imported file, in its own transaction, carries the counts.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.bulk import bulk_insert
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.payment_reference import body_of, rf_body, rf_reference
from leadbill.domain.text import field_text
from leadbill.entities.models import Entity
from leadbill.invoicing.models import OPEN_STATUSES, Invoice, Kind, Status
from leadbill.invoicing.selectors import money
from leadbill.invoicing.services import PaymentItem, payment_record, payments_record_many
from leadbill.partners.models import Partner
from leadbill.receivables import bankfiles
from leadbill.receivables.bank_models import BankEntry, BankEntryState, MatchRule
from leadbill.receivables.selectors import with_open

FORMATS = ("camt", "csv")
_RF_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])RF[0-9]{2}(?: ?[A-Za-z0-9]){1,21}", re.IGNORECASE)
_CHUNK = 500


@dataclass
class ImportResult:
    """What an import did: counts, the rows a CSV could not read, and the entries left for a person."""

    file_name: str
    format: str
    new: int = 0
    duplicate: int = 0
    matched: int = 0
    unmatched: int = 0
    ignored: int = 0
    not_booked: int = 0
    problems: list[bankfiles.RowProblem] = field(default_factory=list)
    unmatched_entries: list[BankEntry] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"new": self.new, "duplicate": self.duplicate, "matched": self.matched, "unmatched": self.unmatched,
                "ignored": self.ignored, "not_booked": self.not_booked, "refused_rows": len(self.problems)}  # fmt: skip


@dataclass
class _Invoice:
    pk: int
    number: str
    currency: str
    partner_id: int
    status: str
    open_minor: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    invoice: _Invoice | None
    rule: str = ""
    reason: str = ""
    reference: str = ""  # the payment's reference: the RF when that matched, else the bank's


def rf_in_text(text: str) -> list[str]:
    """The bodies of the valid RF references in free text (printed in groups of four or compact)."""
    bodies = []
    for found in _RF_IN_TEXT.finditer(text):
        span = found.group()
        compact, ends = "", []  # compact lengths at which a word of the text ends: a reference never cuts a word
        for i, char in enumerate(span):
            if char != " ":
                compact += char
                if i + 1 == len(span) or span[i + 1] == " ":
                    ends.append(len(compact))
        after = text[found.end() : found.end() + 1]
        if after and after.isalnum():
            ends = ends[:-1]  # the match stopped inside a longer word
        for end in reversed(ends):
            body = rf_body(compact[:end])
            if body:
                bodies.append(body)
                break
    return bodies


def word_candidates(text: str, longest: int) -> set[str]:
    """Every piece of `text` that starts and ends at a word boundary, up to `longest` characters, upper case."""
    upper = text.upper()
    n = len(upper)
    starts = [i for i in range(n) if upper[i].isalnum() and (i == 0 or not upper[i - 1].isalnum())]
    ends = [j for j in range(1, n + 1) if upper[j - 1].isalnum() and (j == n or not upper[j].isalnum())]
    found = set()
    for i in starts:
        for j in ends[bisect_left(ends, i + 1) :]:
            if j > i + longest:
                break
            found.add(upper[i:j])
    return found


class Matcher:
    """The entity's invoices, held once per import, and the three matching rules over them."""

    def __init__(self, entity: Entity) -> None:
        self.entity = entity
        self.by_number: dict[str, _Invoice] = {}
        self.by_body: dict[str, list[_Invoice]] = defaultdict(list)
        self.by_amount: dict[tuple[str, int], set[int]] = defaultdict(set)
        self.open: dict[int, _Invoice] = {}
        self.partners_named: dict[str, set[int]] = defaultdict(set)
        issued = Invoice.objects.filter(entity=entity, kind=Kind.INVOICE).exclude(status=Status.DRAFT)
        for pk, number, currency, partner_id, status in issued.values_list(
            "pk", "number", "currency", "partner_id", "status"
        ).iterator(chunk_size=5000):
            inv = _Invoice(pk, number, currency, partner_id, status)
            self.by_number[number.upper()] = inv
            self.by_body[body_of(number)].append(inv)
        self.longest = max((len(n) for n in self.by_number), default=0)
        open_qs = with_open(issued.filter(status__in=OPEN_STATUSES)).values_list("number", "open_minor")
        for number, open_minor in open_qs.iterator(chunk_size=5000):
            self._set_open(self.by_number[number.upper()], int(open_minor))
        for pk, name, legal_name in Partner.objects.filter(entity=entity).values_list("pk", "name", "legal_name"):
            for text in (name, legal_name):
                if text.strip():
                    self.partners_named[text.strip().casefold()].add(pk)

    def _set_open(self, inv: _Invoice, open_minor: int) -> None:
        self.by_amount[(inv.currency, inv.open_minor)].discard(inv.pk)
        inv.open_minor = open_minor
        if open_minor > 0:
            self.open[inv.pk] = inv
            self.by_amount[(inv.currency, open_minor)].add(inv.pk)
        else:
            self.open.pop(inv.pk, None)

    def paid(self, inv: _Invoice, amount_minor: int) -> None:
        """After a payment: what is left open; an overpayment may have settled others, so read the partner again."""
        if amount_minor < inv.open_minor:
            inv.status = Status.PARTIALLY_PAID
            self._set_open(inv, inv.open_minor - amount_minor)
            return
        overpaid = amount_minor > inv.open_minor
        inv.status = Status.PAID
        self._set_open(inv, 0)
        if overpaid:
            self.refresh_partner(inv.partner_id)

    def refresh_partner(self, partner_id: int) -> None:
        qs = with_open(Invoice.objects.filter(entity=self.entity, kind=Kind.INVOICE, partner_id=partner_id))
        for number, status, open_minor in qs.exclude(status=Status.DRAFT).values_list("number", "status", "open_minor"):
            inv = self.by_number[number.upper()]
            inv.status = status
            self._set_open(inv, int(open_minor) if status in OPEN_STATUSES else 0)

    def _target(self, inv: _Invoice, line: bankfiles.BankLine, rule: str, reference: str) -> Decision:
        if inv.currency != line.currency:
            return Decision(None, reason=f"{inv.number} is in {inv.currency}; the payment is in {line.currency}")
        if inv.pk not in self.open:
            status = Status(inv.status).label.lower() if inv.status in Status.values else inv.status
            return Decision(None, reason=f"{inv.number} is {status}; nothing is open on it")
        return Decision(inv, rule, reference=reference)

    def decide(self, line: bankfiles.BankLine) -> Decision:
        bodies = []
        structured = rf_body(line.structured_reference) if line.structured_reference else None
        if structured:
            bodies.append(structured)
        bodies += rf_in_text(line.remittance)
        for body in bodies:
            invoices = self.by_body.get(body, [])
            if len(invoices) == 1:
                return self._target(invoices[0], line, MatchRule.RF_REFERENCE, rf_reference(invoices[0].number))
        text = f"{line.remittance} {line.structured_reference}"
        if self.longest:
            named = {self.by_number[c].pk: self.by_number[c] for c in word_candidates(text, self.longest)
                     if c in self.by_number}  # fmt: skip
            if len(named) == 1:
                return self._target(next(iter(named.values())), line, MatchRule.INVOICE_NUMBER, line.reference)
            if len(named) > 1:
                numbers = ", ".join(sorted(inv.number for inv in named.values())[:5])
                return Decision(None, reason=f"the text names several invoices ({numbers}): split it by hand")
        candidates = self.by_amount.get((line.currency, line.amount_minor), set())
        payer = self.partners_named.get(line.debtor.strip().casefold()) if line.debtor.strip() else None
        if payer:
            candidates = {pk for pk in candidates if self.open[pk].partner_id in payer}
        if len(candidates) == 1:
            return self._target(self.open[next(iter(candidates))], line, MatchRule.AMOUNT, line.reference)
        if len(candidates) > 1:
            numbers = ", ".join(sorted(self.open[pk].number for pk in candidates)[:5])
            return Decision(None, reason=f"{len(candidates)} open invoices have this amount ({numbers}, ...)")
        return Decision(None, reason="no reference, invoice number or unique open amount matches an invoice")


def _already(entity: Entity, lines: list[bankfiles.BankLine]) -> set[tuple[str, str]]:
    """(account, reference) of the lines imported before."""
    by_account: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        by_account[line.account].append(line.reference)
    seen: set[tuple[str, str]] = set()
    for account, refs in by_account.items():
        for i in range(0, len(refs), _CHUNK):
            rows = BankEntry.objects.filter(entity=entity, account=account, reference__in=refs[i : i + _CHUNK])
            seen.update(rows.values_list("account", "reference"))
    return seen


def _parse(content: bytes, name: str, fmt: str | None, columns: Mapping[str, str] | None, account: str,
           entity: Entity) -> tuple[str, bankfiles.Parsed]:  # fmt: skip
    fmt = fmt or bankfiles.detect_format(content)
    if fmt not in FORMATS:
        raise DomainError(f"format must be camt or csv, not {fmt!r}", field="format")
    if fmt == "camt":
        return fmt, bankfiles.parse_camt(content, name)
    if not columns:
        raise DomainError("a bank CSV needs its columns mapped, e.g. date=Booking date,amount=Amount", field="columns")
    account = field_text(account or "csv", field="account", max_length=64)
    return fmt, bankfiles.parse_csv(content, columns, account=account, currency=entity.currency, name=name)


def bank_statement_import(
    *, actor: str, entity: Entity, content: bytes, file_name: str, format: str | None = None,
    columns: Mapping[str, str] | None = None, account: str = "",
) -> ImportResult:  # fmt: skip
    """Import a bank statement: new entries stored, credits matched and recorded as payments."""
    file_name = field_text(file_name, field="file", max_length=200) or "statement"
    fmt, parsed = _parse(content, file_name, format, columns, account, entity)
    result = ImportResult(file_name=file_name, format=fmt, problems=parsed.problems, not_booked=parsed.not_booked)
    seen = _already(entity, parsed.lines)
    fresh = []
    for line in parsed.lines:
        key = (line.account, line.reference)
        if key in seen:
            result.duplicate += 1
        else:
            seen.add(key)
            fresh.append(line)
    now = timezone.now()
    batch = _Batch(actor, entity, file_name, now, Matcher(entity) if any(line.is_credit for line in fresh) else None)
    for line in fresh:
        decision = batch.matcher.decide(line) if line.is_credit and batch.matcher is not None else None
        if decision is not None and decision.invoice is not None and line.amount_minor > decision.invoice.open_minor:
            batch.flush(result)  # an overpayment settles other invoices too: record it alone, then read again
            batch.one(line, result)
            continue
        batch.add(line, decision)
        if len(batch.pending) >= BATCH:
            batch.flush(result)
    batch.flush(result)
    with transaction.atomic():
        audit_record(actor=actor, action="bank_statement.imported", obj=entity, entity=entity, file=file_name,
                     format=fmt, **result.counts())  # fmt: skip
    return result


BATCH = 500  # lines recorded per transaction on the fast path


def _entry_of(actor: str, entity: Entity, line: bankfiles.BankLine, file_name: str, now: Any) -> BankEntry:
    return BankEntry(
        entity=entity, account=line.account, reference=line.reference, booked_on=line.booked_on,
        amount_minor=line.amount_minor, currency=line.currency, debtor=line.debtor[:200],
        remittance=line.remittance[:1000], structured_reference=line.structured_reference[:100],
        file_name=file_name, imported_at=now, imported_by=actor,
    )  # fmt: skip


def _count(result: ImportResult, entry: BankEntry) -> None:
    result.new += 1
    if entry.state == BankEntryState.MATCHED:
        result.matched += 1
    elif entry.state == BankEntryState.UNMATCHED:
        result.unmatched += 1
        result.unmatched_entries.append(entry)
    else:
        result.ignored += 1


class _Batch:
    """Lines waiting to be written together: their entries and payments in one transaction.

    The fast path: up to BATCH lines, their payments through `payments_record_many`, their
    entries in one insert. If anything in the batch is refused (a payment the invoice no longer
    takes, an entry imported meanwhile), the batch is rolled back, the matcher reads the
    invoices again, and its lines are recorded one by one, so a bad line costs only itself.
    """

    def __init__(self, actor: str, entity: Entity, file_name: str, now: Any, matcher: Matcher | None) -> None:
        self.actor, self.entity, self.file_name, self.now, self.matcher = actor, entity, file_name, now, matcher
        self.pending: list[tuple[bankfiles.BankLine, BankEntry, Decision | None]] = []

    def add(self, line: bankfiles.BankLine, decision: Decision | None) -> None:
        entry = _entry_of(self.actor, self.entity, line, self.file_name, self.now)
        if not line.is_credit or self.matcher is None:
            entry.state, entry.reason = BankEntryState.IGNORED_DEBIT, "a debit: money going out is no payment"
        elif decision is None or decision.invoice is None:
            entry.state, entry.reason = BankEntryState.UNMATCHED, (decision.reason if decision else "")[:300]
        else:
            self.matcher.paid(decision.invoice, line.amount_minor)  # later lines see what is left open
        self.pending.append((line, entry, decision))

    def flush(self, result: ImportResult) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        matched = [(entry, d) for _, entry, d in pending if d is not None and d.invoice is not None]
        try:
            with transaction.atomic():
                payments = payments_record_many(actor=self.actor, items=[
                    PaymentItem(d.invoice.pk, entry.amount_minor, entry.booked_on, d.reference or entry.reference)
                    for entry, d in matched
                ])  # fmt: skip
                for (entry, d), payment in zip(matched, payments, strict=True):
                    entry.state, entry.reason, entry.rule = BankEntryState.MATCHED, "", d.rule
                    entry.invoice_id, entry.payment = d.invoice.pk, payment
                bulk_insert([entry for _, entry, _ in pending])
        except (IntegrityError, DomainError):
            self.matcher = Matcher(self.entity) if self.matcher is not None else None
            for line, _, _ in pending:
                self.one(line, result)
            return
        for _, entry, _ in pending:
            _count(result, entry)

    def one(self, line: bankfiles.BankLine, result: ImportResult) -> None:
        try:
            entry = _record(self.actor, self.entity, line, self.matcher, self.file_name, self.now)
        except IntegrityError:  # imported meanwhile by another import of the same file
            result.duplicate += 1
            return
        _count(result, entry)


def _record(actor: str, entity: Entity, line: bankfiles.BankLine, matcher: Matcher | None, file_name: str,
            now: Any) -> BankEntry:  # fmt: skip
    entry = _entry_of(actor, entity, line, file_name, now)
    with transaction.atomic():
        if not line.is_credit or matcher is None:
            entry.state, entry.reason = BankEntryState.IGNORED_DEBIT, "a debit: money going out is no payment"
        else:
            decision = matcher.decide(line)
            entry.state, entry.reason = BankEntryState.UNMATCHED, decision.reason[:300]
            if decision.invoice is not None:
                try:
                    with transaction.atomic():
                        payment = payment_record(
                            actor=actor, invoice=Invoice(pk=decision.invoice.pk), amount_minor=line.amount_minor,
                            paid_on=line.booked_on, reference=decision.reference or line.reference,
                        )  # fmt: skip
                except DomainError as exc:
                    entry.reason = f"{decision.invoice.number}: {exc.message}"[:300]
                    matcher.refresh_partner(decision.invoice.partner_id)
                else:
                    entry.state, entry.reason, entry.rule = BankEntryState.MATCHED, "", decision.rule
                    entry.invoice_id, entry.payment = decision.invoice.pk, payment
                    matcher.paid(decision.invoice, line.amount_minor)
        entry.save(force_insert=True)
    return entry


def bank_entry_match(*, actor: str, entry: BankEntry, invoice: Invoice) -> BankEntry:
    """A person matches an unmatched credit to an invoice: its payment is recorded, and the entry is matched."""
    with transaction.atomic():
        locked = BankEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.state == BankEntryState.MATCHED:
            number = Invoice.objects.filter(pk=locked.invoice_id).values_list("number", flat=True).first()
            raise StateError(f"bank entry {locked.pk} is matched already (to {number})")
        if locked.state != BankEntryState.UNMATCHED or locked.amount_minor <= 0:
            raise StateError(f"bank entry {locked.pk} is a debit; only credits pay invoices")
        if invoice.entity_id != locked.entity_id or invoice.kind != Kind.INVOICE:
            raise DomainError(f"{invoice.number or invoice.pk} is not an invoice of this entity", field="invoice")
        if invoice.currency != locked.currency:
            raise DomainError(f"{invoice.number} is in {invoice.currency}; the payment is in {locked.currency}",
                              field="invoice")  # fmt: skip
        payment = payment_record(actor=actor, invoice=invoice, amount_minor=locked.amount_minor,
                                 paid_on=locked.booked_on, reference=locked.reference)  # fmt: skip
        locked.state, locked.reason, locked.rule, locked.matched_by = (
            BankEntryState.MATCHED,
            "",
            MatchRule.MANUAL,
            actor,
        )
        locked.invoice, locked.payment = invoice, payment
        locked.save(update_fields=["state", "reason", "rule", "matched_by", "invoice", "payment"])
        audit_record(actor=actor, action="bank_entry.matched", obj=locked, entity=invoice.entity,
                     number=invoice.number, amount_minor=locked.amount_minor, reference=locked.reference)  # fmt: skip
    return locked


# --- reads -------------------------------------------------------------------------------------


def bank_entries(entity: Entity, state: str | None = None) -> QuerySet[BankEntry]:
    qs = BankEntry.objects.filter(entity=entity).select_related("invoice")
    return qs.filter(state=state) if state else qs


def unmatched_entries(entity: Entity) -> QuerySet[BankEntry]:
    return bank_entries(entity, BankEntryState.UNMATCHED).order_by("booked_on", "pk")


def bank_entry_as_dict(entry: BankEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "account": entry.account,
        "reference": entry.reference,
        "booked_on": entry.booked_on,
        "amount": money(entry.amount_minor, entry.currency),
        "currency": entry.currency,
        "debtor": entry.debtor,
        "remittance": entry.remittance,
        "structured_reference": entry.structured_reference,
        "state": entry.state,
        "reason": entry.reason,
        "rule": entry.rule,
        "invoice": entry.invoice.number if entry.invoice_id and entry.invoice else None,
        "file_name": entry.file_name,
        "imported_at": entry.imported_at,
    }


def result_as_dict(result: ImportResult) -> dict[str, Any]:
    return {
        "file_name": result.file_name,
        "format": result.format,
        **result.counts(),
        "problems": [{"row": p.row, "field": p.field, "message": p.message} for p in result.problems],
        "unmatched_entries": [bank_entry_as_dict(e) for e in result.unmatched_entries],
    }


__all__ = [
    "ImportResult",
    "Matcher",
    "bank_entries",
    "bank_entry_as_dict",
    "bank_entry_match",
    "bank_statement_import",
    "result_as_dict",
    "unmatched_entries",
]
