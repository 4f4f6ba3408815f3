"""An issued invoice, receipt, credit note or self-billed document → the `Document` every renderer reads.

Only the invoice's frozen snapshots and stored lines are read (STYLE 11): re-rendering a
document issued last year gives last year's parties, prices and logo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from leadbill.domain import document as d
from leadbill.domain import tax
from leadbill.domain.errors import DomainError
from leadbill.domain.peppol import participant_id
from leadbill.invoicing.models import Invoice
from leadbill.selfbilling.models import SelfBilledDocument

KIND_OF = {"invoice": d.INVOICE, "receipt": d.RECEIPT, "credit_note": d.CREDIT_NOTE}


class NotIssuedError(DomainError):
    code = "not_issued"


SELLER_CONTACT_POINT = "Accounts receivable"
BUYER_CONTACT_POINT = "Accounts payable"  # the entity, when it buys (self-billing)


def party(snapshot: dict[str, Any], *, contact_point: str = "") -> d.Party:
    country = snapshot.get("country") or ""
    tax_id = snapshot.get("tax_id") or ""
    return d.Party(
        name=snapshot.get("name") or "",
        country=country,
        address_line1=snapshot.get("address_line1") or "",
        address_line2=snapshot.get("address_line2") or "",
        postal_code=snapshot.get("postal_code") or "",
        city=snapshot.get("city") or "",
        region=snapshot.get("region") or "",
        tax_id=tax_id,
        endpoint=participant_id(snapshot.get("peppol_id") or "", country=country, vat_id=tax.vat_id(tax_id, country)),
        email=snapshot.get("email") or snapshot.get("contact_email") or "",
        phone=snapshot.get("phone") or snapshot.get("contact_phone") or "",
        contact_name=snapshot.get("contact_name") or contact_point,
        iban=snapshot.get("iban") or "",
        bic=snapshot.get("bic") or "",
        code=snapshot.get("code") or "",
        logo_sha256=snapshot.get("logo_sha256") or "",
    )


ACCOUNT_KEYS = frozenset(f.name for f in d.PaymentAccount.__dataclass_fields__.values())


def payment_account(snapshot: dict[str, Any], currency: str) -> d.PaymentAccount | None:
    """The seller's account in `currency` from its snapshot (`entities.services.payment_details`).

    A snapshot taken before accounts per currency (no `payment_accounts` key) has the one
    IBAN/BIC it was issued with, which the document printed whatever its currency: kept so.
    """
    accounts = snapshot.get("payment_accounts")
    if accounts is None:
        iban = snapshot.get("iban") or ""
        return d.PaymentAccount(currency, iban=iban, bic=snapshot.get("bic") or "") if iban else None
    for account in accounts:
        if account.get("currency") == currency:
            return d.PaymentAccount(**{k: str(v) for k, v in account.items() if k in ACCOUNT_KEYS})
    return None


def remit_to(snapshot: dict[str, Any]) -> tuple[str, ...]:
    return tuple(line.strip() for line in str(snapshot.get("remit_to") or "").splitlines() if line.strip())


def tier_detail(rank_from: int | None, rank_to: int | None) -> str:
    if rank_from is None:
        return ""
    if rank_to is None or rank_to == rank_from:
        return f"lead {rank_from:,}" if rank_to == rank_from else f"leads from {rank_from:,}"
    return f"leads {rank_from:,}\u2013{rank_to:,}"


def categoriser(seller: d.Party, buyer: d.Party) -> Callable[[Decimal], str]:
    """The UNCL 5305 category of a rate between these two parties (`domain.tax.category`)."""
    buyer_vat = tax.vat_id(buyer.tax_id, buyer.country)

    def category(rate: Decimal) -> str:
        return tax.category(rate, seller_country=seller.country, buyer_country=buyer.country, buyer_vat_id=buyer_vat)

    return category


def breakdown(
    taxes: Iterable[dict[str, Any]], category: Callable[[Decimal], str], sign: int
) -> tuple[d.TaxBreakdown, ...]:
    """A stored per-rate tax summary as the document presents it, with exemption codes where due."""
    out = []
    for t in taxes:
        rate = Decimal(str(t["rate"]))
        cat = category(rate)
        code, reason = tax.EXEMPTIONS.get(cat, ("", ""))
        out.append(d.TaxBreakdown(cat, rate, sign * t["net_minor"], sign * t["tax_minor"], code, reason))
    return tuple(out)


def document_of(inv: Invoice) -> d.Document:
    """The document of an issued (or paid, or voided) invoice; drafts have no number to print."""
    if inv.status == "draft" or not inv.number or inv.issue_date is None:
        raise NotIssuedError(f"invoice {inv.pk} is a draft: documents exist only once it is issued")
    kind = KIND_OF[inv.kind]
    sign = -1 if kind in d.CREDIT_KINDS else 1
    seller, buyer = party(inv.seller, contact_point=SELLER_CONTACT_POINT), party(inv.buyer)
    category = categoriser(seller, buyer)

    lines = tuple(
        d.Line(
            position=line.position,
            kind=line.kind,
            description=line.description,
            quantity=line.quantity,
            unit_price_micros=line.unit_price_micros,
            amount_minor=sign * line.amount_minor,
            tax_rate=Decimal(line.tax_rate_bp) / 100,
            tax_category=category(Decimal(line.tax_rate_bp) / 100),
            # Late leads continue the period's tier ranks; saying which ranks explains their price.
            detail=tier_detail(line.rank_from, line.rank_to) if line.kind == "prior_period" else "",
        )
        for line in inv.lines.all()
    )
    taxes = breakdown(inv.taxes, category, sign)

    prepaid = 0
    if kind == d.RECEIPT and inv.opening_balance_minor is not None:
        available = inv.opening_balance_minor + (inv.topups_minor or 0)
        prepaid = max(0, min(available, inv.total_minor))
    corrected = inv.corrects if inv.corrects_id else None
    return d.Document(
        kind=kind,
        number=inv.number,
        issue_date=inv.issue_date,
        currency=inv.currency,
        locale=inv.seller.get("locale") or "en_US",
        seller=seller,
        buyer=buyer,
        lines=lines,
        taxes=taxes,
        due_date=inv.due_date if kind == d.INVOICE else None,
        period_first_day=inv.period_first_day,
        period_last_day=inv.period_last_day,
        payment_terms_days=inv.payment_terms_days,
        leads_purchased=inv.leads_billed,
        leads_returned=inv.leads_returned,
        prepaid_minor=prepaid,
        opening_balance_minor=inv.opening_balance_minor,
        topups_minor=inv.topups_minor,
        closing_balance_minor=inv.closing_balance_minor,
        preceding_number=corrected.number or "" if corrected else "",
        preceding_issue_date=corrected.issue_date if corrected else None,
        buyer_reference=inv.buyer.get("buyer_reference") or buyer.code,
        # A run's notes are what it noticed for finance (repeats, caps, written-off returns), not for the buyer.
        notes=tuple(str(n) for n in inv.notes) if kind in d.CREDIT_KINDS and inv.run_id is None else (),
        footer=inv.seller.get("footer") or "",
        payment_account=payment_account(inv.seller, inv.currency),
        remit_to=remit_to(inv.seller),
    )


def self_billed_document_of(doc: SelfBilledDocument) -> d.Document:
    """A self-billed invoice (389) or credit note (261): the partner sells, the entity buys.

    Read only from the document's own frozen rows: the partner's seller details, logo and
    footer as they were when it was issued, the entity's billing details as the buyer.
    """
    kind = d.SELF_BILLED_CREDIT_NOTE if doc.is_credit else d.SELF_BILLED_INVOICE
    seller, buyer = party(doc.seller), party(doc.buyer, contact_point=BUYER_CONTACT_POINT)
    category = categoriser(seller, buyer)

    lines = tuple(
        d.Line(
            position=line.position,
            kind=line.kind,
            description=line.description,
            quantity=line.quantity,
            unit_price_micros=line.unit_price_micros,
            amount_minor=line.amount_minor,
            tax_rate=Decimal(line.tax_rate_bp) / 100,
            tax_category=category(Decimal(line.tax_rate_bp) / 100),
        )
        for line in doc.lines.all()
    )
    taxes = breakdown(doc.taxes, category, 1)
    corrected = doc.corrects if doc.corrects_id else None
    return d.Document(
        kind=kind,
        number=doc.number,
        issue_date=doc.issue_date,
        currency=doc.currency,
        locale=doc.seller.get("locale") or "en_US",
        seller=seller,
        buyer=buyer,
        lines=lines,
        taxes=taxes,
        due_date=doc.due_date,
        period_first_day=doc.period_first_day,
        period_last_day=doc.period_last_day,
        payment_terms_days=doc.payment_terms_days,
        preceding_number=corrected.number if corrected else "",
        preceding_issue_date=corrected.issue_date if corrected else None,
        buyer_reference=doc.buyer.get("buyer_reference") or buyer.code,
        notes=tuple(str(n) for n in doc.notes),
        footer=doc.seller.get("footer") or "",
        # The partner is paid to the account of its payout profile, in the document's currency.
        payment_account=supplier_account(doc.seller, doc.currency),
    )


def supplier_account(seller: dict[str, Any], currency: str) -> d.PaymentAccount | None:
    """The partner's account from its frozen seller details: an IBAN (and BIC), or a US routing + account number."""
    iban, bic = seller.get("iban") or "", seller.get("bic") or ""
    if iban:
        return d.PaymentAccount(currency, iban=iban, bic=bic)
    routing, account = seller.get("routing_number") or "", seller.get("account_number") or ""
    if routing and account:
        return d.PaymentAccount(currency, bic=bic, ach_routing=routing, ach_account=account)
    return None
