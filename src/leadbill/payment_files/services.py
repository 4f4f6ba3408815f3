"""Writes of payment files: make one for ready payouts, cancel it, mark it sent (which pays them).

Every write has the house shape (STYLE 9): one transaction, one audit row in it. A file is
made once and stored (docs/payment-files.md): its payouts sit in it as active items, which a
partial unique index keeps to one live file per payout. Marking a file sent moves each payout
to paid through `payouts.services.payout_transition`, the one place that decides whether a
payout may be paid, with the file's message id as the paid reference; if it refuses any
payout, nothing is paid and every refusal is named.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadbill.audit.services import audit_record
from leadbill.domain import identifiers
from leadbill.domain import payouts as lifecycle
from leadbill.domain.errors import DomainError, StateError
from leadbill.domain.money import minor_to_decimal
from leadbill.domain.text import field_text
from leadbill.entities.models import Entity
from leadbill.entities.services import payment_details
from leadbill.invoicing.services import today_in
from leadbill.payment_files.builders import Batch, Payment, bankcsv, nacha, sepa
from leadbill.payment_files.models import AchOriginator, EntryClass, Kind, PaymentFile, PaymentFileItem, Status
from leadbill.payment_files.selectors import live_files_holding, paying_numbers
from leadbill.payouts.models import Payout
from leadbill.payouts.services import payout_transition
from leadbill.selfbilling.selectors import acceptance_blockers
from leadbill.selfbilling.services import held_file_settled

CURRENCY = {Kind.SEPA: "EUR", Kind.NACHA: "USD", Kind.BANK_CSV: "USD"}
EXTENSION = {Kind.SEPA: "xml", Kind.NACHA: "ach", Kind.BANK_CSV: "csv"}
MEDIA_TYPE = {Kind.SEPA: sepa.MEDIA_TYPE, Kind.NACHA: nacha.MEDIA_TYPE, Kind.BANK_CSV: bankcsv.MEDIA_TYPE}
MAX_AMOUNT = {Kind.SEPA: sepa.MAX_AMOUNT_MINOR, Kind.NACHA: nacha.MAX_AMOUNT_MINOR, Kind.BANK_CSV: 10**15}
MAX_PAYOUTS = 10_000  # one file; a bank takes batches of a few thousand transfers at most
REMITTANCE_MAX = 140  # pain.001 Ustrd; NACHA's 05 addenda holds 80 of them


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one payout cannot be paid by the file: its id, its partner's code, the field, the reason."""

    payout: int
    partner: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"payout {self.payout} ({self.partner}) {self.field}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"payout": self.payout, "partner": self.partner, "field": self.field, "message": self.message}


class PaymentFileError(DomainError):
    """Payouts that cannot be paid as asked, each named; nothing was made or changed."""

    def __init__(self, problems: Sequence[Problem], lead: str = "") -> None:
        self.problems = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:20])
        more = f"; and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{lead}{shown}{more}")


class PaymentRefused(PaymentFileError):
    """The payouts service refused to pay some of the file's payouts; the file stays created, nothing is paid."""

    code = "conflict"


class AlreadyInFile(StateError):
    """Some payouts already sit in a live payment file: the same payouts are never exported twice."""

    def __init__(self, held: Mapping[int, PaymentFile]) -> None:
        self.held = dict(held)
        by_file: dict[int, list[int]] = {}
        for payout_id, file in sorted(held.items()):
            by_file.setdefault(file.pk, []).append(payout_id)
        files = {f.pk: f for f in held.values()}
        parts = [
            f"payout{'s' * (len(ids) > 1)} {', '.join(map(str, ids))} already in payment file {files[pk].message_id} "
            f"(#{pk}, {files[pk].status}, made {files[pk].created_at:%Y-%m-%d} by {files[pk].created_by})"
            for pk, ids in by_file.items()
        ]
        super().__init__("; ".join(parts) + ": download that file again, or cancel it first")


# --- the payments of a selection -------------------------------------------------------------


def remittance(payout: Payout) -> str:
    """The payment's unstructured reference: the self-invoice numbers (else the supplier's invoice, else the
    payout), cut at whole numbers to 140 characters with a count of the rest."""
    numbers = paying_numbers(payout)
    if not numbers:
        numbers = [u.reference for u in sorted(payout.supplier_invoices.all(), key=lambda u: u.pk) if u.reference]
    if not numbers:
        return f"Payout {payout.pk} {payout.period_key}"[:REMITTANCE_MAX]
    text = ""
    for i, number in enumerate(numbers):
        rest = len(numbers) - i - 1
        candidate = f"{text} {number}".strip()
        if len(candidate) + (len(f" +{rest}") if rest else 0) > REMITTANCE_MAX:
            return f"{text} +{len(numbers) - i}".strip()[:REMITTANCE_MAX]
        text = candidate
    return text


def _payee(kind: str, payout: Payout, problems: list[Problem]) -> dict[str, str] | None:
    """The supplier's bank details from its seller profile, checked by the field's own rules (schwifty, stdnum)."""
    code = payout.partner.code
    profile = getattr(payout.partner, "seller_profile", None)
    fields = ("iban", "bic") if kind == Kind.SEPA else ("routing_number", "account_number")
    if profile is None:
        problems.append(Problem(payout.pk, code, fields[0], "the supplier has no seller details with a bank account"))
        return None
    checks = {"iban": identifiers.iban, "bic": identifiers.bic, "routing_number": identifiers.aba_routing,
              "account_number": identifiers.account_number}  # fmt: skip
    out = {"name": (profile.legal_name or payout.partner.name).strip()}
    before = len(problems)
    for name in fields:
        raw = getattr(profile, name) or ""
        if not raw.strip() and name != "bic":
            problems.append(Problem(payout.pk, code, name, "missing in the supplier's seller details"))
            continue
        try:
            out[name] = checks[name](raw)
        except DomainError as exc:
            problems.append(Problem(payout.pk, code, name, exc.message))
    return out if len(problems) == before else None


def _selection(entity: Entity, payout_ids: Sequence[int]) -> list[Payout]:
    ids = list(dict.fromkeys(payout_ids))
    if not ids:
        raise DomainError("choose at least one ready payout", field="payouts")
    if len(ids) > MAX_PAYOUTS:
        raise DomainError(f"at most {MAX_PAYOUTS} payouts in one file, got {len(ids)}", field="payouts")
    qs = (
        Payout.objects.select_for_update(of=("self",))
        .filter(entity=entity, pk__in=ids)
        .select_related("entity", "partner", "partner__seller_profile")
        .prefetch_related("documents", "supplier_invoices")
    )
    found = {po.pk: po for po in qs}
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise DomainError(f"no payout {', '.join(map(str, unknown[:20]))} in {entity.slug}", field="payouts")
    return [found[i] for i in ids]


def _payer(entity: Entity, kind: str) -> dict[str, Any]:
    """The entity's paying account: its EUR IBAN (payment_accounts, else iban/bic) or its ACH originator."""
    if kind == Kind.SEPA:
        account = next((a for a in payment_details(entity)["payment_accounts"]  # type: ignore[attr-defined]
                        if a.get("currency") == "EUR" and a.get("iban")), None)  # fmt: skip
        if account is None:
            raise DomainError(f"{entity.slug} has no EUR account with an IBAN to pay from (entity bank details)",
                              field="iban")  # fmt: skip
        try:
            return {"iban": identifiers.iban(str(account["iban"])), "bic": identifiers.bic(str(account.get("bic", "")))}
        except DomainError as exc:
            raise DomainError(f"the entity's EUR account: {exc.message}", field="iban") from None
    ach = AchOriginator.objects.filter(entity=entity).first()
    if ach is None:
        raise DomainError(f"{entity.slug} has no ACH originator settings yet: set them first "
                          "(console: Payouts → Payment files → ACH settings; CLI: leadbill payment-file ach-settings)",
                          field="ach")  # fmt: skip
    return {"ach": {f: getattr(ach, f) for f in ACH_FIELDS}}


def _check(kind: str, currency: str, payout: Payout, problems: list[Problem]) -> dict[str, str] | None:
    code = payout.partner.code
    if payout.status != lifecycle.READY:
        problems.append(Problem(payout.pk, code, "status", f"is {payout.status}; only ready payouts are paid"))
        return None
    if payout.currency != currency:
        problems.append(Problem(payout.pk, code, "currency", f"is in {payout.currency}; this file pays {currency}"))
        return None
    if not 0 < payout.total_minor <= MAX_AMOUNT[kind]:
        problems.append(Problem(payout.pk, code, "total", "nothing to pay" if payout.total_minor <= 0
                                else "more than one transfer of this kind may carry"))  # fmt: skip
        return None
    if payout.entity.self_billing_require_acceptance:  # the payouts service will refuse to pay it: say so now
        waiting = acceptance_blockers(payout)
        if waiting:
            problems.append(Problem(payout.pk, code, "acceptance", "; ".join(waiting)))
            return None
    return _payee(kind, payout, problems)


def payment_file_create(
    *, actor: str, entity: Entity, kind: str, payout_ids: Sequence[int], execution_date: date | None = None,
    skip_invalid: bool = False,
) -> PaymentFile:  # fmt: skip
    """A payment file of the chosen ready payouts of one currency (EUR for SEPA, USD for NACHA and bank CSV).

    A payout that cannot be paid (not ready, another currency, no or a bad IBAN/BIC or routing/account
    number) is named with its partner code and field, and no file is made; with `skip_invalid` the
    file is made without those, and keeps them in `skipped`. Payouts already in a live file are
    always refused, naming that file.
    """
    if kind not in CURRENCY:
        raise DomainError(f"a payment file is one of {', '.join(CURRENCY)}, not {kind!r}", field="kind")
    currency = CURRENCY[Kind(kind)]
    today = today_in(entity)
    day = execution_date or today
    if day < today:
        raise DomainError(f"the execution date {day} has passed", field="execution_date")
    with transaction.atomic():
        payouts = _selection(entity, payout_ids)
        held = live_files_holding([po.pk for po in payouts])
        if held:
            raise AlreadyInFile(held)
        payer = _payer(entity, kind)
        problems: list[Problem] = []
        payees = [(po, _check(kind, currency, po, problems)) for po in payouts]
        if problems and not skip_invalid:
            raise PaymentFileError(problems, "no payment file was made: ")
        paying = [(po, payee) for po, payee in payees if payee is not None]
        if not paying:
            raise PaymentFileError(problems, "nothing left to pay: ")
        now = timezone.now()
        file = PaymentFile.objects.create(
            entity=entity, kind=kind, currency=currency, message_id=f"new-{now.timestamp()}-{id(now)}"[:35],
            name="", media_type=MEDIA_TYPE[Kind(kind)], content=b"", sha256="", size=0, count=len(paying),
            total_minor=sum(po.total_minor for po, _ in paying), execution_date=day,
            skipped=[p.as_dict() for p in problems], created_by=actor, created_at=now,
        )  # fmt: skip
        file.message_id = f"LB{now:%Y%m%d}-{file.pk}"
        payments = [_payment(file, po, payee) for po, payee in paying]
        _hold(file, [po for po, _ in paying], payments)
        batch = Batch(message_id=file.message_id, created_at=timezone.localtime(now), execution_date=day,
                      currency=currency, payer_name=entity.legal_name, payments=tuple(payments),
                      payer_iban=payer.get("iban", ""), payer_bic=payer.get("bic", ""),
                      ach=payer.get("ach", {}))  # fmt: skip
        content = _content(Kind(kind), batch, file.pk)
        file.content, file.size = content, len(content)
        file.sha256 = hashlib.sha256(content).hexdigest()
        file.name = f"{entity.slug}-{file.message_id}.{EXTENSION[Kind(kind)]}"
        file.save()
        audit_record(actor=actor, action="payment_file.created", obj=file, kind=kind, currency=currency,
                     message_id=file.message_id, count=file.count, total_minor=file.total_minor,
                     payouts=[po.pk for po, _ in paying], skipped=file.skipped, sha256=file.sha256)  # fmt: skip
    return file


def _content(kind: Kind, batch: Batch, pk: int) -> bytes:
    if kind == Kind.SEPA:
        return sepa.build(batch)
    if kind == Kind.NACHA:  # the modifier tells apart files of one day; 36 files a day before it repeats
        return nacha.build(batch, file_id_modifier=nacha.FILE_ID_MODIFIERS[(pk - 1) % len(nacha.FILE_ID_MODIFIERS)])
    return bankcsv.build(batch)


def _payment(file: PaymentFile, payout: Payout, payee: dict[str, str]) -> Payment:
    return Payment(
        end_to_end_id=f"{file.pk}-{payout.pk}"[:15], name=payee["name"], amount_minor=payout.total_minor,
        remittance=remittance(payout), iban=payee.get("iban", ""), bic=payee.get("bic", ""),
        routing_number=payee.get("routing_number", ""), account_number=payee.get("account_number", ""),
        code=payout.partner.code,
    )  # fmt: skip


def _hold(file: PaymentFile, payouts: Sequence[Payout], payments: Sequence[Payment]) -> None:
    """The file's items; a payout another file took meanwhile (the unique index) is refused, naming that file."""
    items = [
        PaymentFileItem(file=file, payout=po, position=i, amount_minor=pay.amount_minor,
                        end_to_end_id=pay.end_to_end_id, remittance=pay.remittance, payee_name=pay.name[:200],
                        account=pay.iban or f"{pay.routing_number}/{pay.account_number}")
        for i, (po, pay) in enumerate(zip(payouts, payments, strict=True), start=1)
    ]  # fmt: skip
    try:
        with transaction.atomic():
            PaymentFileItem.objects.bulk_create(items)
    except IntegrityError:
        held = live_files_holding([po.pk for po in payouts])
        held = {k: v for k, v in held.items() if v.pk != file.pk}
        if held:
            raise AlreadyInFile(held) from None
        raise


# --- the lifecycle ---------------------------------------------------------------------------


def _locked(file: PaymentFile) -> PaymentFile:
    return PaymentFile.objects.select_for_update().select_related("entity").get(pk=file.pk)


@dataclass(frozen=True, slots=True)
class Sent:
    file: PaymentFile
    paid: list[int]
    already: bool  # it was sent before: nothing changed


def payment_file_mark_sent(*, actor: str, file: PaymentFile, sent_on: date | None = None) -> Sent:
    """The file went to the bank on `sent_on`: each of its payouts becomes paid on that day, with the
    file's message id as the paid reference, in one transaction.

    Idempotent: a file already sent is returned as it is (`already`), so a second click, or a
    second process racing on the locked row, pays nothing twice. If the payouts service refuses
    any payout (cancelled since, or not payable under the entity's rules), or a payout's total is
    no longer the amount the file pays it, nothing is paid, the file stays created, and each
    refusal is named (`PaymentRefused`).
    """
    with transaction.atomic():
        locked = _locked(file)
        if locked.status == Status.SENT:
            return Sent(locked, [], already=True)
        if locked.status == Status.CANCELLED:
            raise StateError(f"payment file {locked.message_id} was cancelled; it cannot be sent")
        day = sent_on or today_in(locked.entity)
        refused: list[Problem] = []
        paid: list[int] = []
        for item in locked.items.select_related("payout", "payout__partner").order_by("position"):
            if item.amount_minor != item.payout.total_minor:  # the bank moves the item's amount, not today's total
                c = locked.currency
                refused.append(Problem(item.payout_id, item.payout.partner.code, "total",
                                       f"the file pays {minor_to_decimal(item.amount_minor, c)} {c} but the payout "
                                       f"now totals {minor_to_decimal(item.payout.total_minor, c)} {c}: cancel the "
                                       "file and make a new one"))  # fmt: skip
                continue
            try:
                with transaction.atomic():
                    payout_transition(actor=actor, payout=item.payout, to=lifecycle.PAID,
                                      reference=locked.message_id, paid_on=day, payment_file_id=locked.pk)  # fmt: skip
            except DomainError as exc:
                refused.append(Problem(item.payout_id, item.payout.partner.code, "status", str(exc)))
            else:
                paid.append(item.payout_id)
        if refused:
            raise PaymentRefused(refused, f"payment file {locked.message_id} not marked sent, nothing paid: ")
        held_file_settled(locked.message_id, paid, sent=True)
        locked.status, locked.sent_on, locked.sent_at, locked.sent_by = Status.SENT, day, timezone.now(), actor
        locked.save(update_fields=["status", "sent_on", "sent_at", "sent_by"])
        audit_record(actor=actor, action="payment_file.sent", obj=locked, message_id=locked.message_id,
                     sent_on=day.isoformat(), payouts=paid, total_minor=locked.total_minor)  # fmt: skip
    file.refresh_from_db()
    return Sent(locked, paid, already=False)


def payment_file_cancel(*, actor: str, file: PaymentFile, reason: str) -> PaymentFile:
    """Cancel a file not sent yet: its payouts are free for another file. A cancelled file stays cancelled."""
    reason = field_text(reason, field="reason", max_length=500)
    if not reason:
        raise DomainError("say why the file is cancelled", field="reason")
    with transaction.atomic():
        locked = _locked(file)
        if locked.status == Status.CANCELLED:
            return locked
        if locked.status == Status.SENT:
            raise StateError(f"payment file {locked.message_id} was sent on {locked.sent_on}; its payouts are paid")
        freed = list(locked.items.filter(active=True).values_list("payout_id", flat=True))
        locked.items.update(active=False)
        held_file_settled(locked.message_id, freed, sent=False)
        locked.status, locked.cancelled_at, locked.cancelled_by = Status.CANCELLED, timezone.now(), actor
        locked.cancel_reason = reason
        locked.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
        audit_record(actor=actor, action="payment_file.cancelled", obj=locked, message_id=locked.message_id,
                     reason=reason, payouts=freed)  # fmt: skip
    file.refresh_from_db()
    return locked


# --- ACH originator settings -------------------------------------------------------------------

ACH_FIELDS = ("immediate_destination", "immediate_destination_name", "immediate_origin", "immediate_origin_name",
              "company_name", "company_id", "odfi_routing", "entry_class", "entry_description")  # fmt: skip


class AchSettingsError(DomainError):
    """ACH settings with problems, one message per field; nothing was saved."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.problems.items()))


def _ach_value(name: str, raw: str) -> str:
    if name in ("immediate_destination", "odfi_routing"):
        return identifiers.aba_routing(raw)
    text = field_text(raw, field=name, max_length=100).upper()
    limit = AchOriginator._meta.get_field(name).max_length or 0
    if name == "entry_class":
        if text not in EntryClass.values:
            raise DomainError(f"one of {', '.join(EntryClass.values)}")
        return text
    if name in ("immediate_origin", "company_id"):
        compact = text.replace(" ", "").replace("-", "")
        if not (compact.isascii() and compact.isalnum() and 1 <= len(compact) <= limit):
            raise DomainError(f"1 to {limit} letters or digits, as the bank gave it (often 1 + the EIN)")
        return compact
    if len(text) > limit:
        raise DomainError(f"at most {limit} characters, got {len(text)}")
    if not nacha.alpha(text, limit).strip():
        raise DomainError("letters or digits that a NACHA file can carry")
    return text


def ach_originator_set(*, actor: str, entity: Entity, values: Mapping[str, str]) -> AchOriginator:
    """Set the entity's ACH originator details; only the fields given change (all are needed the first time)."""
    unknown = sorted(set(values) - set(ACH_FIELDS))
    if unknown:
        raise AchSettingsError(dict.fromkeys(unknown, "not an ACH setting"))
    problems: dict[str, str] = {}
    clean: dict[str, str] = {}
    for name, raw in values.items():
        try:
            clean[name] = _ach_value(name, str(raw or ""))
        except DomainError as exc:
            problems[name] = exc.message
        else:
            if not clean[name]:
                problems[name] = "required"
    with transaction.atomic():
        current = AchOriginator.objects.select_for_update().filter(entity=entity).first()
        if current is None:
            problems.update({f: "required" for f in ACH_FIELDS if f not in values and f not in problems
                             and f not in ("entry_class", "entry_description")})  # fmt: skip
        if problems:
            raise AchSettingsError(problems)
        now = timezone.now()
        if current is None:
            current = AchOriginator(entity=entity, updated_at=now, updated_by=actor)
            before = {}
        else:
            before = {f: getattr(current, f) for f in ACH_FIELDS}
        for name, value in clean.items():
            setattr(current, name, value)
        changed = {f: [before.get(f), getattr(current, f)] for f in ACH_FIELDS if before.get(f) != getattr(current, f)}
        if changed:
            current.updated_at, current.updated_by = now, actor
            current.save()
            audit_record(actor=actor, action="payment_file.ach_settings_changed", obj=current, entity=entity,
                         changed=changed)  # fmt: skip
    return current
