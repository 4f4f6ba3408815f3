"""UN/CEFACT CII D16B, Factur-X / ZUGFeRD profile EN 16931 (the XML inside a Factur-X PDF).

Element order follows the D16B schema; each business term is named (BT-n) where it is written
so a reader can check it against EN 16931-1.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from leadbill.documents.labels import EN
from leadbill.documents.xmlutil import Builder, amount, compact, number
from leadbill.domain import document as d
from leadbill.domain import tax

PROFILE_EN16931 = "urn:cen.eu:en16931:2017"

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
_b = Builder(NS)


def _date(parent: Element, name: str, day: object, *, qualified: bool = False) -> None:
    el = _b.add(parent, name)
    _b.add(el, "qdt:DateTimeString" if qualified else "udt:DateTimeString", compact(day), format="102")  # type: ignore[arg-type]


def _party(parent: Element, name: str, party: d.Party, *, vat: str, registration: str, legal_id: str) -> None:
    p = _b.add(parent, name)
    _b.add(p, "ram:Name", party.name)  # BT-27 / BT-44
    if legal_id:
        _b.add(_b.add(p, "ram:SpecifiedLegalOrganization"), "ram:ID", legal_id)  # BT-30 / BT-47
    if party.contact_name or party.email or party.phone:
        contact = _b.add(p, "ram:DefinedTradeContact")
        _b.opt(contact, "ram:PersonName", party.contact_name)
        if party.phone:
            _b.add(_b.add(contact, "ram:TelephoneUniversalCommunication"), "ram:CompleteNumber", party.phone)
        if party.email:
            _b.add(_b.add(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", party.email)
    address = _b.add(p, "ram:PostalTradeAddress")
    _b.opt(address, "ram:PostcodeCode", party.postal_code)
    _b.opt(address, "ram:LineOne", party.address_line1)
    _b.opt(address, "ram:LineTwo", party.address_line2)
    _b.opt(address, "ram:CityName", party.city)
    _b.add(address, "ram:CountryID", party.country)
    _b.opt(address, "ram:CountrySubDivisionName", party.region)  # BT-39 / BT-54
    if party.endpoint:  # BT-34 / BT-49
        _b.add(
            _b.add(p, "ram:URIUniversalCommunication"), "ram:URIID", party.endpoint_id, schemeID=party.endpoint_scheme
        )
    elif party.email:
        _b.add(_b.add(p, "ram:URIUniversalCommunication"), "ram:URIID", party.email, schemeID="EM")
    if vat:  # BT-31 / BT-48
        _b.add(_b.add(p, "ram:SpecifiedTaxRegistration"), "ram:ID", vat, schemeID="VA")
    if registration:  # BT-32
        _b.add(_b.add(p, "ram:SpecifiedTaxRegistration"), "ram:ID", registration, schemeID="FC")


def tax_ids(doc: d.Document) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """(VAT id, tax registration id, legal id) for seller and buyer, as EN 16931 allows them.

    A tax id that is not a VAT number is the seller's tax registration (BT-32) or the buyer's
    legal registration (BT-47). A document outside VAT (category O) carries no VAT ids (BR-O-02).
    """
    outside_vat = any(t.category == tax.NOT_SUBJECT for t in doc.taxes)
    s_vat = "" if outside_vat else tax.vat_id(doc.seller.tax_id, doc.seller.country)
    b_vat = "" if outside_vat else tax.vat_id(doc.buyer.tax_id, doc.buyer.country)
    # Without a VAT number the seller is identified by its registration (BR-CO-26 needs BT-29/30/31).
    seller = (s_vat, "" if s_vat else doc.seller.tax_id, "" if s_vat else doc.seller.tax_id)
    buyer = (b_vat, "", "" if b_vat else doc.buyer.tax_id)
    return seller, buyer


def _line_tax(parent: Element, category: str, rate: object) -> None:
    t = _b.add(parent, "ram:ApplicableTradeTax")
    _b.add(t, "ram:TypeCode", "VAT")
    _b.add(t, "ram:CategoryCode", category)
    if category != tax.NOT_SUBJECT:
        _b.add(t, "ram:RateApplicablePercent", number(rate))  # type: ignore[arg-type]


def cii_xml(doc: d.Document) -> bytes:
    c = doc.currency
    root = _b.root("rsm:CrossIndustryInvoice")
    ctx = _b.add(root, "rsm:ExchangedDocumentContext")
    _b.add(_b.add(ctx, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", PROFILE_EN16931)  # BT-24

    header = _b.add(root, "rsm:ExchangedDocument")
    _b.add(header, "ram:ID", doc.number)  # BT-1
    _b.add(header, "ram:TypeCode", doc.type_code)  # BT-3
    _date(header, "ram:IssueDateTime", doc.issue_date)  # BT-2
    for note in (*doc.notes, *(["Self-billing"] if doc.is_self_billed else [])):  # BT-22
        _b.add(_b.add(header, "ram:IncludedNote"), "ram:Content", note)

    tx = _b.add(root, "rsm:SupplyChainTradeTransaction")
    for line in doc.lines:
        quantity, unit, price = line.invoiced(c)
        item = _b.add(tx, "ram:IncludedSupplyChainTradeLineItem")
        _b.add(_b.add(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line.position))  # BT-126
        product = _b.add(item, "ram:SpecifiedTradeProduct")
        _b.add(product, "ram:Name", line.description)  # BT-153
        _b.opt(product, "ram:Description", line.detail)
        agreement = _b.add(item, "ram:SpecifiedLineTradeAgreement")
        _b.add(_b.add(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", number(price))  # BT-146
        delivery = _b.add(item, "ram:SpecifiedLineTradeDelivery")
        _b.add(delivery, "ram:BilledQuantity", number(quantity), unitCode=unit)  # BT-129/130
        settlement = _b.add(item, "ram:SpecifiedLineTradeSettlement")
        _line_tax(settlement, line.tax_category, line.tax_rate)
        summation = _b.add(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _b.add(summation, "ram:LineTotalAmount", amount(line.amount_minor, c))  # BT-131

    (s_vat, s_reg, s_legal), (b_vat, b_reg, b_legal) = tax_ids(doc)
    agreement = _b.add(tx, "ram:ApplicableHeaderTradeAgreement")
    _b.opt(agreement, "ram:BuyerReference", doc.buyer_reference)  # BT-10
    _party(agreement, "ram:SellerTradeParty", doc.seller, vat=s_vat, registration=s_reg, legal_id=s_legal)
    _party(agreement, "ram:BuyerTradeParty", doc.buyer, vat=b_vat, registration=b_reg, legal_id=b_legal)
    delivery = _b.add(tx, "ram:ApplicableHeaderTradeDelivery")
    # BT-72: the service is complete at the end of the period (or on the issue date).
    event = _b.add(delivery, "ram:ActualDeliverySupplyChainEvent")
    _date(event, "ram:OccurrenceDateTime", doc.period_last_day or doc.issue_date)

    settlement = _b.add(tx, "ram:ApplicableHeaderTradeSettlement")
    _b.opt(settlement, "ram:PaymentReference", doc.payment_reference)  # BT-83: ISO 11649 RF reference
    _b.add(settlement, "ram:InvoiceCurrencyCode", c)  # BT-5
    if not doc.is_credit:  # BG-16
        means = _b.add(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _b.add(means, "ram:TypeCode", doc.payment_means_code)  # BT-81 (see PaymentAccount.means_code)
        account = doc.payment_account
        if account:  # BG-17: the IBAN or a proprietary account id, never both (CII-SR-470)
            financial = _b.add(means, "ram:PayeePartyCreditorFinancialAccount")
            _b.opt(financial, "ram:IBANID", account.iban)  # BT-84
            _b.opt(financial, "ram:AccountName", account.account_name)  # BT-85
            if not account.iban:
                _b.add(financial, "ram:ProprietaryID", account.account_id)  # BT-84: the ACH account number
            if account.institution_id:  # BT-86: BIC, or the ACH routing number (a national clearing code)
                _b.add(
                    _b.add(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", account.institution_id
                )
    for t in doc.taxes:  # BG-23
        vat = _b.add(settlement, "ram:ApplicableTradeTax")
        _b.add(vat, "ram:CalculatedAmount", amount(t.tax_minor, c))  # BT-117
        _b.add(vat, "ram:TypeCode", "VAT")
        _b.opt(vat, "ram:ExemptionReason", t.exemption_reason)  # BT-120
        _b.add(vat, "ram:BasisAmount", amount(t.net_minor, c))  # BT-116
        _b.add(vat, "ram:CategoryCode", t.category)  # BT-118
        _b.opt(vat, "ram:ExemptionReasonCode", t.exemption_code)  # BT-121
        if t.category != tax.NOT_SUBJECT:
            _b.add(vat, "ram:RateApplicablePercent", number(t.rate))  # BT-119
    if doc.period_first_day and doc.period_last_day:  # BG-14
        period = _b.add(settlement, "ram:BillingSpecifiedPeriod")
        _date(period, "ram:StartDateTime", doc.period_first_day)
        _date(period, "ram:EndDateTime", doc.period_last_day)
    terms_text = payment_terms_text(doc)
    if terms_text or doc.due_date:
        terms = _b.add(settlement, "ram:SpecifiedTradePaymentTerms")
        _b.opt(terms, "ram:Description", terms_text)  # BT-20
        if doc.due_date:
            _date(terms, "ram:DueDateDateTime", doc.due_date)  # BT-9
    total = _b.add(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _b.add(total, "ram:LineTotalAmount", amount(doc.subtotal_minor, c))  # BT-106
    _b.add(total, "ram:TaxBasisTotalAmount", amount(doc.subtotal_minor, c))  # BT-109
    _b.add(total, "ram:TaxTotalAmount", amount(doc.tax_minor, c), currencyID=c)  # BT-110
    _b.add(total, "ram:GrandTotalAmount", amount(doc.total_minor, c))  # BT-112
    if doc.prepaid_minor:
        _b.add(total, "ram:TotalPrepaidAmount", amount(doc.prepaid_minor, c))  # BT-113
    _b.add(total, "ram:DuePayableAmount", amount(doc.payable_minor, c))  # BT-115
    if doc.preceding_number:  # BG-3
        ref = _b.add(settlement, "ram:InvoiceReferencedDocument")
        _b.add(ref, "ram:IssuerAssignedID", doc.preceding_number)
        if doc.preceding_issue_date:
            _date(ref, "ram:FormattedIssueDateTime", doc.preceding_issue_date, qualified=True)
    return _b.bytes(root)


def payment_terms_text(doc: d.Document, words: dict[str, str] | None = None) -> str:
    """BT-20: English in the XML; the PDF passes the document language's words."""
    w = words or EN
    if doc.is_credit:
        return ""
    if doc.kind == d.RECEIPT:
        return w["paid_from_balance"] if doc.payable_minor <= 0 else w["topup_due"]
    if doc.payment_terms_days:
        return w["net_days"].format(days=doc.payment_terms_days)
    return w["due_on_receipt"] if doc.payable_minor > 0 else ""
