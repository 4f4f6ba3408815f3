"""The double-entry journal of billing documents and money events: explicit facts in, balanced entries out.

Pure: no database, no clock. `journal_entry(facts, accounts)` turns one document or money event
into postings on the entity's accounts (`Accounts`, the books' account mapping) and refuses
(`UnbalancedDocument`, naming the document and the difference) a document whose lines and taxes
do not add up to its total. Amounts are integers in the document currency's minor units; one
entry is always in one currency, and its debits equal its credits by construction.

What is posted (amounts as the document presents them, positive):

| kind                 | debit                               | credit                                |
|----------------------|-------------------------------------|---------------------------------------|
| invoice, receipt     | receivables: total                  | revenue per lead type: net; tax payable per rate: tax |
| credit_note          | revenue (or contra-revenue) per lead type: net; tax payable per rate | receivables: total |
| payment, topup       | cash (per currency)                 | receivables                           |
| payment_reversal, refund | receivables                     | cash                                  |
| write_off            | other (write-offs, rounding)        | receivables                           |
| write_off_reversal   | receivables                         | other (a loss lowered by a later credit) |
| self_invoice (389)   | cost of leads per lead type: net; input tax per rate | payables: total        |
| self_credit (261)    | payables: total                     | cost of leads per lead type: net; input tax per rate |
| payout_paid          | payables                            | cash                                  |

A line whose net is negative (a deduction on a self-invoice, a credit line on an invoice) posts
on the other side of the same account, so the entry still balances.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from leadbill.domain.errors import DomainError

INVOICE = "invoice"
RECEIPT = "receipt"  # a prepay partner's receipt of purchases paid from the balance
CREDIT_NOTE = "credit_note"
PAYMENT = "payment"
PAYMENT_REVERSAL = "payment_reversal"
TOPUP = "topup"
REFUND = "refund"
WRITE_OFF = "write_off"
WRITE_OFF_REVERSAL = "write_off_reversal"  # a loss lowered: a credit note for charges that were written off
SELF_INVOICE = "self_invoice"  # UNTDID 1001 code 389
SELF_CREDIT = "self_credit"  # UNTDID 1001 code 261
PAYOUT_PAID = "payout_paid"

SALES = (INVOICE, RECEIPT)
PURCHASES = (SELF_INVOICE, SELF_CREDIT)
DOCUMENT_KINDS = (INVOICE, RECEIPT, CREDIT_NOTE, SELF_INVOICE, SELF_CREDIT)
MONEY_KINDS = (PAYMENT, PAYMENT_REVERSAL, TOPUP, REFUND, WRITE_OFF, WRITE_OFF_REVERSAL, PAYOUT_PAID)
KINDS = DOCUMENT_KINDS + MONEY_KINDS

# Credit notes post to the lead type's revenue account (reducing it) unless a contra-revenue
# account is mapped; then every credit note's net goes there instead.
CREDIT_NOTES_SAME = "same"
CREDIT_NOTES_CONTRA = "contra"


class UnbalancedDocument(DomainError):
    """A document whose lines and taxes do not add up to its total: the export is refused."""

    code = "unbalanced"

    def __init__(self, number: str, difference_minor: int, currency: str) -> None:
        super().__init__(
            f"{number}: lines and tax sum to {difference_minor:+d} minor units ({currency}) "
            "off the document's total; nothing was exported",
            field=number,
        )
        self.number = number
        self.difference_minor = difference_minor
        self.currency = currency


@dataclass(frozen=True, slots=True)
class TaxAccount:
    """The accounts and codes of one tax rate (basis points): output tax on sales, input tax on self-bills."""

    rate_bp: int
    payable: str = ""  # output tax account ("" = the mapping's default)
    receivable: str = ""  # input tax account ("" = the mapping's default)
    sales_code: str = ""  # Xero tax type / QBO tax code / DATEV BU-Schlüssel on sales
    purchase_code: str = ""  # the same on purchases (self-billed documents)


@dataclass(frozen=True, slots=True)
class Accounts:
    receivables: str
    payables: str
    cash: str
    revenue: str
    cost: str
    tax_payable: str
    tax_receivable: str
    other: str
    contra_revenue: str = ""
    cash_by_currency: Mapping[str, str] = field(default_factory=dict)
    revenue_by_lead_type: Mapping[str, str] = field(default_factory=dict)
    cost_by_lead_type: Mapping[str, str] = field(default_factory=dict)
    tax_rates: tuple[TaxAccount, ...] = ()

    def cash_for(self, currency: str) -> str:
        return self.cash_by_currency.get(currency) or self.cash

    def revenue_for(self, lead_type: str) -> str:
        return self.revenue_by_lead_type.get(lead_type) or self.revenue

    def cost_for(self, lead_type: str) -> str:
        return self.cost_by_lead_type.get(lead_type) or self.cost

    def tax(self, rate_bp: int) -> TaxAccount:
        for t in self.tax_rates:
            if t.rate_bp == rate_bp:
                return TaxAccount(rate_bp, t.payable or self.tax_payable, t.receivable or self.tax_receivable,
                                  t.sales_code, t.purchase_code)  # fmt: skip
        return TaxAccount(rate_bp, self.tax_payable, self.tax_receivable)

    @property
    def credit_notes(self) -> str:
        return CREDIT_NOTES_CONTRA if self.contra_revenue else CREDIT_NOTES_SAME


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a document: its net as presented (minor units), its tax rate and lead type ("" = none)."""

    net_minor: int
    tax_rate_bp: int
    lead_type: str = ""
    description: str = ""
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Tax:
    rate_bp: int
    net_minor: int
    tax_minor: int


@dataclass(frozen=True, slots=True)
class Facts:
    """What the journal needs of one document or money event, as the document presents it."""

    kind: str
    key: str  # stable id of the source row, e.g. "invoice:12", "payment:4"
    number: str  # the document number, or the reference of a money event
    on: date  # the document (or payment) date in the entity's time zone
    currency: str
    total_minor: int
    party: str = ""
    lines: tuple[Line, ...] = ()
    taxes: tuple[Tax, ...] = ()
    due_on: date | None = None
    refers_to: str = ""  # the document a payment or credit note refers to


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    debit_minor: int
    credit_minor: int
    tax_code: str = ""
    tax_rate_bp: int | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    facts: Facts
    postings: tuple[Posting, ...]

    @property
    def debit_minor(self) -> int:
        return sum(p.debit_minor for p in self.postings)

    @property
    def credit_minor(self) -> int:
        return sum(p.credit_minor for p in self.postings)


def check_balanced(facts: Facts) -> None:
    """Refuse a document whose lines plus taxes are not its total; money events have no lines to check."""
    if facts.kind not in KINDS:
        raise DomainError(f"unknown journal kind {facts.kind!r}", field=facts.number)
    if facts.total_minor < 0:
        raise DomainError(f"{facts.number}: a negative total; give the amount as presented", field=facts.number)
    if facts.kind in MONEY_KINDS:
        return
    difference = sum(line.net_minor for line in facts.lines) + sum(t.tax_minor for t in facts.taxes)
    difference -= facts.total_minor
    if difference:
        raise UnbalancedDocument(facts.number, difference, facts.currency)


def _signed(
    account: str, amount: int, *, debit: bool, text: str, tax_code: str = "", tax_rate_bp: int | None = None
) -> Posting | None:
    """A posting of `amount` on the debit (or credit) side; a negative amount goes to the other side."""
    if amount == 0:
        return None
    on_debit = (amount > 0) == debit
    return Posting(account, abs(amount) if on_debit else 0, 0 if on_debit else abs(amount), tax_code, tax_rate_bp, text)


def _nets(facts: Facts, pick: Callable[[str], str]) -> dict[tuple[str, int], int]:
    """Line nets summed per (account, tax rate), the account picked by the line's lead type."""
    sums: dict[tuple[str, int], int] = defaultdict(int)
    for line in facts.lines:
        sums[(pick(line.lead_type), line.tax_rate_bp)] += line.net_minor
    return sums


def journal_entry(facts: Facts, accounts: Accounts) -> Entry:
    """The balanced entry of one document or money event; raises UnbalancedDocument."""
    check_balanced(facts)
    k, total, text = facts.kind, facts.total_minor, f"{facts.number} {facts.party}".strip()
    postings: list[Posting | None] = []
    if k in MONEY_KINDS:
        cash = accounts.cash_for(facts.currency)
        debit, credit = {
            PAYMENT: (cash, accounts.receivables),
            TOPUP: (cash, accounts.receivables),
            PAYMENT_REVERSAL: (accounts.receivables, cash),
            REFUND: (accounts.receivables, cash),
            WRITE_OFF: (accounts.other, accounts.receivables),
            WRITE_OFF_REVERSAL: (accounts.receivables, accounts.other),
            PAYOUT_PAID: (accounts.payables, cash),
        }[k]
        postings = [Posting(debit, total, 0, text=text), Posting(credit, 0, total, text=text)]
    else:
        sales = k in (INVOICE, RECEIPT, CREDIT_NOTE)
        # the side the party's account is on: debit for invoices and 261s, credit for credit notes and 389s
        party_debit = k in (INVOICE, RECEIPT, SELF_CREDIT)
        party = accounts.receivables if sales else accounts.payables
        postings.append(_signed(party, total, debit=party_debit, text=text))
        if sales:
            contra = k == CREDIT_NOTE and bool(accounts.contra_revenue)
            pick: Callable[[str], str] = (lambda _lt: accounts.contra_revenue) if contra else accounts.revenue_for
        else:
            pick = accounts.cost_for
        for (account, rate_bp), net in sorted(_nets(facts, pick).items()):
            tax = accounts.tax(rate_bp)
            code = tax.sales_code if sales else tax.purchase_code
            postings.append(_signed(account, net, debit=not party_debit, tax_code=code, tax_rate_bp=rate_bp, text=text))
        for t in sorted(facts.taxes, key=lambda t: t.rate_bp):
            tax = accounts.tax(t.rate_bp)
            account = tax.payable if sales else tax.receivable
            code = tax.sales_code if sales else tax.purchase_code
            postings.append(
                _signed(account, t.tax_minor, debit=not party_debit, tax_code=code, tax_rate_bp=t.rate_bp, text=text)
            )
    entry = Entry(facts, tuple(p for p in postings if p is not None))
    if entry.debit_minor != entry.credit_minor:  # cannot happen after check_balanced; kept as the last guard
        raise UnbalancedDocument(facts.number, entry.debit_minor - entry.credit_minor, facts.currency)
    return entry


def journal(facts: Iterable[Facts], accounts: Accounts) -> list[Entry]:
    """Every entry, in the order given; the first unbalanced document refuses the whole journal.

    All unbalanced documents are named together, so one export attempt lists every one to mend.
    """
    entries: list[Entry] = []
    refused: list[UnbalancedDocument] = []
    for f in facts:
        try:
            entries.append(journal_entry(f, accounts))
        except UnbalancedDocument as exc:
            refused.append(exc)
    if len(refused) == 1:
        raise refused[0]
    if refused:
        raise UnbalancedJournal(tuple(refused))
    return entries


class UnbalancedJournal(DomainError):
    code = "unbalanced"

    def __init__(self, documents: tuple[UnbalancedDocument, ...]) -> None:
        super().__init__("; ".join(d.message for d in documents))
        self.documents = documents


def totals(entries: Iterable[Entry]) -> dict[str, tuple[int, int]]:
    """(debits, credits) per currency over many entries: a batch balances when the two are equal."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in entries:
        out[e.facts.currency][0] += e.debit_minor
        out[e.facts.currency][1] += e.credit_minor
    return {c: (d, k) for c, (d, k) in out.items()}


def account_totals(entries: Iterable[Entry]) -> dict[tuple[str, str], tuple[int, int]]:
    """(debits, credits) per (currency, account): the trial balance of the entries."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for e in entries:
        for p in e.postings:
            out[(e.facts.currency, p.account)][0] += p.debit_minor
            out[(e.facts.currency, p.account)][1] += p.credit_minor
    return {key: (d, k) for key, (d, k) in sorted(out.items())}
