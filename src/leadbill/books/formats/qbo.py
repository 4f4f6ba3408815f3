"""QuickBooks Online: invoices CSV and credit notes CSV for Sales > Invoices > Import invoices.

Columns as QuickBooks Online maps them without manual mapping (Intuit, "Import invoices in batches",
https://quickbooks.intuit.com/learn-support/en-ca/help-articles/import-invoices-in-batches/01/338729;
the column list as Intuit's community answer gives it: Invoice number, Customer, Invoice date, Due
date, Terms, Item(Product/Service), Item Description, Item Quantity, Item Rate, Item Amount, Item
tax code, Memo, Service Date; https://quickbooks.intuit.com/learn-support/en-ca/sales-and-invoicing/
do-we-need-to-map-field-everytime-when-import-invoices/01/394876). The header spelling is that of
Intuit's sample file: InvoiceNo, Customer, InvoiceDate, DueDate, Terms, Memo, Item(Product/Service),
ItemDescription, ItemQuantity, ItemRate, ItemAmount, ItemTaxCode, Currency. One row per line; the
rows of one document share its InvoiceNo.

Credit notes go in a file of their own with the same columns under credit-memo names
(CreditMemoNo, CreditMemoDate; no due date or terms), amounts positive as a credit memo shows them.
QuickBooks Online's own importer (Settings > Import data) takes invoices but not credit memos; the
credit notes file is laid out for the importers that do (SaaSAnt, Transaction Pro: RefNumber/
CreditMemoNo, Customer, TxnDate, item lines) and maps there by name. That is the shakiest of the
formats here: check one file against the importer before a month's worth.

Dates: MM/DD/YYYY for a US entity, DD/MM/YYYY elsewhere (pick the same format in the import).
Item(Product/Service) is the lead type code (the product you create once in QuickBooks), "Leads"
for a line without a lead type. ItemTaxCode is the rate's sales code from the account mapping;
without one, QuickBooks US's TAX / NON. Quantity and rate are the line's when the rate is exact in
the currency's minor unit, else quantity 1 at the line amount, so ItemAmount = ItemQuantity x ItemRate.
"""

from __future__ import annotations

from decimal import Decimal

from leadbill.books.formats.common import File, amount, csv_bytes, date_text, identifier, text
from leadbill.books.selectors import Period
from leadbill.domain import journal as j

INVOICE_HEADER = ["InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Memo", "Item(Product/Service)",
                  "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount", "ItemTaxCode", "Currency"]  # fmt: skip
CREDIT_HEADER = ["CreditMemoNo", "Customer", "CreditMemoDate", "Memo", "Item(Product/Service)", "ItemDescription",
                 "ItemQuantity", "ItemRate", "ItemAmount", "ItemTaxCode", "Currency"]  # fmt: skip
DEFAULT_ITEM = "Leads"


def quantity_and_rate(line: j.Line, currency: str) -> tuple[int, Decimal]:
    """(quantity, rate) whose product is the line amount exactly."""
    if line.quantity > 0 and line.net_minor % line.quantity == 0:
        return line.quantity, amount(line.net_minor // line.quantity, currency)
    return 1, amount(line.net_minor, currency)


def tax_code(accounts: j.Accounts, rate_bp: int, document: str) -> str:
    code = accounts.tax(rate_bp).sales_code or ("TAX" if rate_bp else "NON")
    return identifier(code, what="tax code", document=document)


def render(period: Period, entries: list[j.Entry], accounts: j.Accounts) -> list[File]:
    country = period.entity.country
    invoices: list[list[object]] = []
    credits: list[list[object]] = []
    for e in entries:
        f = e.facts
        if f.kind not in (j.INVOICE, j.RECEIPT, j.CREDIT_NOTE):
            continue
        number = identifier(f.number, what="document number", document=f.number)
        customer = text(f.party, 100)
        memo = text(f"Refers to {f.refers_to}" if f.refers_to else "", 1000)
        for line in f.lines:
            qty, rate = quantity_and_rate(line, f.currency)
            item = identifier(line.lead_type or DEFAULT_ITEM, what="item", document=f.number)
            tail = [item, text(line.description, 4000), qty, rate, amount(line.net_minor, f.currency),
                    tax_code(accounts, line.tax_rate_bp, f.number), f.currency]  # fmt: skip
            if f.kind == j.CREDIT_NOTE:
                credits.append([number, customer, date_text(f.on, country), memo, *tail])
            else:
                terms = f"Net {(f.due_on - f.on).days}" if f.due_on else ""
                invoices.append([number, customer, date_text(f.on, country), date_text(f.due_on or f.on, country),
                                 terms, memo, *tail])  # fmt: skip
    stem = f"{period.entity.slug}-{period.first.isoformat()}-{period.last.isoformat()}"
    return [
        File(f"qbo-invoices-{stem}.csv", csv_bytes(INVOICE_HEADER, invoices)),
        File(f"qbo-credit-notes-{stem}.csv", csv_bytes(CREDIT_HEADER, credits)),
    ]
