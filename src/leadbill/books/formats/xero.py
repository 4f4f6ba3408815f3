"""Xero: sales invoices CSV (Business > Invoices > Import) and bills CSV (Business > Bills to pay > Import).

Columns of Xero's own import templates (SalesInvoiceTemplate.csv and the bills template, which
Xero offers for download on the import page; Xero Central, "Import invoices" and "Import bills",
https://central.xero.com/s/article/Import-customer-invoices and
https://central.xero.com/s/article/Import-bills). An asterisk marks a column Xero requires:
*ContactName, EmailAddress, POAddressLine1..4, POCity, PORegion, POPostalCode, POCountry,
*InvoiceNumber, Reference, *InvoiceDate, *DueDate, InventoryItemCode, *Description, *Quantity,
*UnitAmount, Discount, *AccountCode, *TaxType, TrackingName1, TrackingOption1, TrackingName2,
TrackingOption2, Currency, BrandingTheme (bills: no Discount, no BrandingTheme).
One row per line; the lines of a document share its InvoiceNumber.

Credit notes: Xero imports a document whose total is negative as a credit note, so a credit note
(and a self-billed 261 in the bills file) has its quantities negative and unit amounts as shown.
Amounts are tax exclusive (choose "Tax exclusive" on import). *AccountCode is the line's revenue
(or cost of leads) account from the mapping; *TaxType the rate's sales (purchase) code, else Xero's
OUTPUT / INPUT, or NONE at 0 %.
"""

from __future__ import annotations

from leadbill.books.formats.common import File, csv_bytes, date_text, identifier, text
from leadbill.books.formats.qbo import quantity_and_rate
from leadbill.books.selectors import Period
from leadbill.domain import journal as j

_ADDRESS = ["POAddressLine1", "POAddressLine2", "POAddressLine3", "POAddressLine4", "POCity", "PORegion",
            "POPostalCode", "POCountry"]  # fmt: skip
SALES_HEADER = ["*ContactName", "EmailAddress", *_ADDRESS, "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate",
                "InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "Discount", "*AccountCode",
                "*TaxType", "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2", "Currency",
                "BrandingTheme"]  # fmt: skip
BILLS_HEADER = ["*ContactName", "EmailAddress", *_ADDRESS, "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate",
                "InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "*AccountCode", "*TaxType",
                "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2", "Currency"]  # fmt: skip


def _tax_type(accounts: j.Accounts, rate_bp: int, sales: bool, document: str) -> str:
    tax = accounts.tax(rate_bp)
    code = (tax.sales_code if sales else tax.purchase_code) or (
        "NONE" if not rate_bp else "OUTPUT" if sales else "INPUT"
    )
    return identifier(code, what="tax type", document=document)


def render(period: Period, entries: list[j.Entry], accounts: j.Accounts) -> list[File]:
    country = period.entity.country
    sales: list[list[object]] = []
    bills: list[list[object]] = []
    for e in entries:
        f = e.facts
        if f.kind not in j.DOCUMENT_KINDS:
            continue
        is_sale = f.kind in (j.INVOICE, j.RECEIPT, j.CREDIT_NOTE)
        negative = f.kind in (j.CREDIT_NOTE, j.SELF_CREDIT)
        p = period.parties.get(f.key)
        contact = [text(f.party, 255), text(p.email if p else "", 255),
                   *(text(v, 500) for v in ((p.address_line1, p.address_line2, "", "", p.city, p.region,
                                              p.postal_code, p.country) if p else ("",) * 8))]  # fmt: skip
        number = identifier(f.number, what="document number", document=f.number)
        reference = text(f"Refers to {f.refers_to}" if f.refers_to else "", 255)
        on, due = date_text(f.on, country), date_text(f.due_on or f.on, country)
        for line in f.lines:
            qty, rate = quantity_and_rate(line, f.currency)
            account = accounts.revenue_for(line.lead_type) if is_sale else accounts.cost_for(line.lead_type)
            if f.kind == j.CREDIT_NOTE and accounts.contra_revenue:
                account = accounts.contra_revenue
            account = identifier(account, what="account code", document=f.number)
            tax_type = _tax_type(accounts, line.tax_rate_bp, is_sale, f.number)
            description = text(line.description or f.number, 4000)
            quantity = -qty if negative else qty
            tracking = ["", "", "", ""]
            if is_sale:
                sales.append([*contact, number, reference, on, due, "", description, quantity, rate, "", account,
                              tax_type, *tracking, f.currency, ""])  # fmt: skip
            else:
                bills.append([*contact, number, reference, on, due, "", description, quantity, rate, account,
                              tax_type, *tracking, f.currency])  # fmt: skip
    stem = f"{period.entity.slug}-{period.first.isoformat()}-{period.last.isoformat()}"
    return [
        File(f"xero-sales-invoices-{stem}.csv", csv_bytes(SALES_HEADER, sales)),
        File(f"xero-bills-{stem}.csv", csv_bytes(BILLS_HEADER, bills)),
    ]
