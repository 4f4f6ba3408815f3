"""UBL 2.1 following Peppol BIS Billing 3.0 (380, 381) and Peppol Self-Billing 3.0 (389, 261).

Element order follows the UBL 2.1 schemas (Invoice and CreditNote differ: a credit note has
no header DueDate, its lines are CreditNoteLine/CreditedQuantity). A self-billed document
names the partner as seller and the business as buyer; the business issues it on the
partner's behalf, under the Peppol Self-Billing customization.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from leadbill.documents.cii import payment_terms_text, tax_ids
from leadbill.documents.xmlutil import Builder, amount, iso, number
from leadbill.domain import document as d
from leadbill.domain import tax
from leadbill.domain.errors import DomainError

BILLING_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
BILLING_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
SELF_BILLING_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:selfbilling:3.0"
SELF_BILLING_PROFILE = "urn:fdc:peppol.eu:2017:poacc:selfbilling:01:1.0"

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_COMMON = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_inv = Builder({"inv": NS_INVOICE, **_COMMON})
_cn = Builder({"cn": NS_CREDIT_NOTE, **_COMMON})


class PeppolAddressMissing(DomainError):
    code = "peppol_address"


def _party(b: Builder, parent: Element, name: str, party: d.Party, *, vat: str, registration: str, legal: str) -> None:
    p = b.add(b.add(parent, name), "cac:Party")
    b.add(p, "cbc:EndpointID", party.endpoint_id, schemeID=party.endpoint_scheme)  # BT-34 / BT-49
    b.opt(b.add(p, "cac:PartyName"), "cbc:Name", party.name)
    address = b.add(p, "cac:PostalAddress")
    b.opt(address, "cbc:StreetName", party.address_line1)
    b.opt(address, "cbc:AdditionalStreetName", party.address_line2)
    b.opt(address, "cbc:CityName", party.city)
    b.opt(address, "cbc:PostalZone", party.postal_code)
    b.opt(address, "cbc:CountrySubentity", party.region)  # BT-39 / BT-54
    b.add(b.add(address, "cac:Country"), "cbc:IdentificationCode", party.country)
    if vat:  # BT-31 / BT-48
        scheme = b.add(p, "cac:PartyTaxScheme")
        b.add(scheme, "cbc:CompanyID", vat)
        b.add(b.add(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    if registration:  # BT-32
        scheme = b.add(p, "cac:PartyTaxScheme")
        b.add(scheme, "cbc:CompanyID", registration)
        b.add(b.add(scheme, "cac:TaxScheme"), "cbc:ID", "TAX")
    legal_entity = b.add(p, "cac:PartyLegalEntity")
    b.add(legal_entity, "cbc:RegistrationName", party.name)  # BT-27 / BT-44
    b.opt(legal_entity, "cbc:CompanyID", legal)  # BT-30 / BT-47
    if party.contact_name or party.phone or party.email:
        contact = b.add(p, "cac:Contact")
        b.opt(contact, "cbc:Name", party.contact_name)
        b.opt(contact, "cbc:Telephone", party.phone)
        b.opt(contact, "cbc:ElectronicMail", party.email)


def _tax_category(b: Builder, parent: Element, name: str, category: str, rate: object) -> Element:
    cat = b.add(parent, name)
    b.add(cat, "cbc:ID", category)
    if category != tax.NOT_SUBJECT:
        b.add(cat, "cbc:Percent", number(rate))  # type: ignore[arg-type]
    return cat


def check_addresses(doc: d.Document) -> None:
    """Peppol needs both parties' electronic address (R010, R020); say which one to set."""
    for role, party in (("seller", doc.seller), ("buyer", doc.buyer)):
        if not party.endpoint:
            who = f"partner {party.code!r}" if party.code else repr(party.name)
            raise PeppolAddressMissing(
                f"the {role} {who} has no Peppol participant id and no VAT number to derive one from; "
                "set peppol_id (e.g. 0088:5790000435968) to send UBL/Peppol",
                field="peppol_id",
            )


def ubl_xml(doc: d.Document) -> bytes:
    check_addresses(doc)
    c = doc.currency
    credit = doc.is_credit
    b = _cn if credit else _inv
    root = b.root("cn:CreditNote" if credit else "inv:Invoice")
    b.add(root, "cbc:CustomizationID", SELF_BILLING_CUSTOMIZATION if doc.is_self_billed else BILLING_CUSTOMIZATION)
    b.add(root, "cbc:ProfileID", SELF_BILLING_PROFILE if doc.is_self_billed else BILLING_PROFILE)
    b.add(root, "cbc:ID", doc.number)  # BT-1
    b.add(root, "cbc:IssueDate", iso(doc.issue_date))  # BT-2
    if not credit and doc.due_date:
        b.add(root, "cbc:DueDate", iso(doc.due_date))  # BT-9
    b.add(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", doc.type_code)  # BT-3
    for note in (*doc.notes, *(["Self-billing"] if doc.is_self_billed else [])):
        b.add(root, "cbc:Note", note)  # BT-22
    b.add(root, "cbc:DocumentCurrencyCode", c)  # BT-5
    b.opt(root, "cbc:BuyerReference", doc.buyer_reference)  # BT-10
    if doc.period_first_day and doc.period_last_day:  # BG-14
        period = b.add(root, "cac:InvoicePeriod")
        b.add(period, "cbc:StartDate", iso(doc.period_first_day))
        b.add(period, "cbc:EndDate", iso(doc.period_last_day))
    if doc.preceding_number:  # BG-3
        ref = b.add(b.add(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        b.add(ref, "cbc:ID", doc.preceding_number)
        if doc.preceding_issue_date:
            b.add(ref, "cbc:IssueDate", iso(doc.preceding_issue_date))

    (s_vat, s_reg, s_legal), (b_vat, b_reg, b_legal) = tax_ids(doc)
    _party(b, root, "cac:AccountingSupplierParty", doc.seller, vat=s_vat, registration=s_reg, legal=s_legal)
    _party(b, root, "cac:AccountingCustomerParty", doc.buyer, vat=b_vat, registration=b_reg, legal=b_legal)

    if not credit:  # BG-16: every document that asks for payment carries its RF reference
        means = b.add(root, "cac:PaymentMeans")
        b.add(means, "cbc:PaymentMeansCode", doc.payment_means_code)  # BT-81 (see PaymentAccount.means_code)
        b.add(means, "cbc:PaymentID", doc.payment_reference)  # BT-83: ISO 11649 RF creditor reference
        account = doc.payment_account
        if account:  # BG-17
            financial = b.add(means, "cac:PayeeFinancialAccount")
            b.add(financial, "cbc:ID", account.account_id)  # BT-84: IBAN, or the ACH account number
            b.opt(financial, "cbc:Name", account.account_name)  # BT-85
            if account.institution_id:  # BT-86: BIC, or the ACH routing number (a national clearing code)
                b.add(b.add(financial, "cac:FinancialInstitutionBranch"), "cbc:ID", account.institution_id)
    terms_text = payment_terms_text(doc)
    if terms_text:
        b.add(b.add(root, "cac:PaymentTerms"), "cbc:Note", terms_text)  # BT-20

    total_tax = b.add(root, "cac:TaxTotal")
    b.add(total_tax, "cbc:TaxAmount", amount(doc.tax_minor, c), currencyID=c)  # BT-110
    for t in doc.taxes:  # BG-23
        sub = b.add(total_tax, "cac:TaxSubtotal")
        b.add(sub, "cbc:TaxableAmount", amount(t.net_minor, c), currencyID=c)
        b.add(sub, "cbc:TaxAmount", amount(t.tax_minor, c), currencyID=c)
        cat = _tax_category(b, sub, "cac:TaxCategory", t.category, t.rate)
        b.opt(cat, "cbc:TaxExemptionReasonCode", t.exemption_code)
        b.opt(cat, "cbc:TaxExemptionReason", t.exemption_reason)
        b.add(b.add(cat, "cac:TaxScheme"), "cbc:ID", "VAT")

    totals = b.add(root, "cac:LegalMonetaryTotal")
    b.add(totals, "cbc:LineExtensionAmount", amount(doc.subtotal_minor, c), currencyID=c)  # BT-106
    b.add(totals, "cbc:TaxExclusiveAmount", amount(doc.subtotal_minor, c), currencyID=c)  # BT-109
    b.add(totals, "cbc:TaxInclusiveAmount", amount(doc.total_minor, c), currencyID=c)  # BT-112
    if doc.prepaid_minor:
        b.add(totals, "cbc:PrepaidAmount", amount(doc.prepaid_minor, c), currencyID=c)  # BT-113
    b.add(totals, "cbc:PayableAmount", amount(doc.payable_minor, c), currencyID=c)  # BT-115

    for line in doc.lines:
        quantity, unit, price = line.invoiced(c)
        el = b.add(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        b.add(el, "cbc:ID", str(line.position))  # BT-126
        b.add(el, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity", number(quantity), unitCode=unit)
        b.add(el, "cbc:LineExtensionAmount", amount(line.amount_minor, c), currencyID=c)  # BT-131
        item = b.add(el, "cac:Item")
        b.opt(item, "cbc:Description", line.detail)  # BT-154
        b.add(item, "cbc:Name", line.description)  # BT-153
        cat = _tax_category(b, item, "cac:ClassifiedTaxCategory", line.tax_category, line.tax_rate)
        b.add(b.add(cat, "cac:TaxScheme"), "cbc:ID", "VAT")
        b.add(b.add(el, "cac:Price"), "cbc:PriceAmount", number(price), currencyID=c)  # BT-146
    return b.bytes(root)
