"""SEPA credit transfers: pain.001.001.09 valid against its XSD, supplier bank details checked and named."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from leadbill.domain import periods
from leadbill.payment_files import services as pf
from leadbill.payment_files.builders import Batch, Payment, sepa
from leadbill.payment_files.models import PaymentFile
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from tests.payment_files.conftest import ACTOR, ready_payout, set_bank, supplier
from tests.payouts.conftest import COMPLETE, MAIN

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
SCHEMA = etree.XMLSchema(etree.parse(str(sepa.SCHEMA_PATH)))


def parsed(file: PaymentFile) -> etree._Element:
    root = etree.fromstring(bytes(file.content))
    SCHEMA.assertValid(root)  # every generated file, validated again with lxml against the official schema
    return root


def make(entity, payouts, **kw) -> PaymentFile:
    return pf.payment_file_create(actor=ACTOR, entity=entity, kind="sepa", payout_ids=[p.pk for p in payouts], **kw)


def test_a_sepa_file_is_valid_pain_001_001_09_with_exact_totals(eur):
    file = make(eur.entity, eur.payouts)
    root = parsed(file)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS) == file.message_id
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "3"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "350.56"
    amounts = [Decimal(a.text) for a in root.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS)]
    assert amounts == [Decimal("100.00"), Decimal("250.55"), Decimal("0.01")]
    assert sum(amounts) == Decimal("350.56") and file.total_minor == 35056 and file.count == 3
    assert root.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "DE89370400440532013000"
    assert root.findtext(".//p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == "COBADEFFXXX"
    creditors = [e.text for e in root.iterfind(".//p:CdtrAcct/p:Id/p:IBAN", NS)]
    assert creditors == ["DE02120300000000202051", "FR1420041010050500013M02606", "NL91ABNA0417164300"]
    ids = [e.text for e in root.iterfind(".//p:PmtId/p:EndToEndId", NS)]
    assert len(set(ids)) == 3 and all(len(i) <= 35 for i in ids)
    assert [i.end_to_end_id for i in file.items.order_by("position")] == ids


def test_the_remittance_is_the_self_invoice_number(eur):
    entity = eur.entity
    sbs.self_billing_switch(actor=ACTOR, entity=entity, on=True)
    entity.refresh_from_db()
    partner = supplier(entity, "billed", {**COMPLETE}, tax_rate="19")
    sbs.self_billing_opt_in(actor=ACTOR, partner=partner, signer=MAIN, accepted=True)
    payout = ready_payout(partner, "80.00")
    (number,) = payout.documents.values_list("number", flat=True)
    root = parsed(make(entity, [payout]))
    assert root.findtext(".//p:RmtInf/p:Ustrd", namespaces=NS) == number
    assert root.findtext(".//p:InstdAmt", namespaces=NS) == "95.20"  # 80.00 + 19 % on the self-invoice


def test_a_long_list_of_numbers_is_cut_to_140_characters_at_whole_numbers(eur):
    payout = Payout.objects.prefetch_related("documents", "supplier_invoices").get(pk=eur.payouts[0].pk)

    class Doc:
        def __init__(self, pk: int) -> None:
            self.pk, self.number, self.is_live = pk, f"SB-LONG-SUPPLIER-NAME-{pk:06d}", True

    payout._prefetched_objects_cache["documents"] = [Doc(i) for i in range(1, 11)]
    text = pf.remittance(payout)
    assert text.startswith("SB-LONG-SUPPLIER-NAME-000001 SB-LONG-SUPPLIER-NAME-000002")
    assert len(text) <= 140 and text.endswith("SB-LONG-SUPPLIER-NAME-000004 +6")  # four fit, six more are counted


def test_a_bad_or_missing_iban_is_named_by_partner_and_field_and_no_file_is_made(eur):
    bad = supplier(eur.entity, "badbank", {})
    set_bank(bad, iban="DE00120300000000202051", bic="NOTABIC")
    none = supplier(eur.entity, "nobank", {})
    payouts = [*eur.payouts, ready_payout(bad), ready_payout(none)]
    with pytest.raises(pf.PaymentFileError) as caught:
        make(eur.entity, payouts)
    problems = {(p.partner, p.field) for p in caught.value.problems}
    assert problems == {("badbank", "iban"), ("badbank", "bic"), ("nobank", "iban")}
    assert "badbank) iban: not a valid IBAN" in str(caught.value)
    assert "nobank) iban: missing in the supplier's seller details" in str(caught.value)
    assert not PaymentFile.objects.exists()


def test_skipping_makes_the_file_without_them_and_keeps_why(eur):
    none = supplier(eur.entity, "nobank", {})
    payouts = [*eur.payouts, ready_payout(none)]
    file = make(eur.entity, payouts, skip_invalid=True)
    assert file.count == 3 and [s["partner"] for s in file.skipped] == ["nobank"]
    assert len(parsed(file).findall(".//p:CdtTrfTxInf", NS)) == 3
    assert not file.items.filter(payout=payouts[-1]).exists()


def test_only_ready_eur_payouts_go_into_a_sepa_file(eur):
    draft = s.payout_create(actor=ACTOR, partner=eur.suppliers[0], period=periods.month(2026, 11, "Europe/Berlin"),
                            lines=[s.ManualLine("x", 1, Decimal(1))])  # fmt: skip
    with pytest.raises(pf.PaymentFileError, match=r"payout \d+ \(sup0\) status: is draft; only ready payouts are paid"):
        make(eur.entity, [eur.payouts[0], draft])


def test_the_entity_pays_from_its_eur_account_in_payment_accounts(eur):
    eur.entity.payment_accounts = [{"currency": "USD", "ach_routing": "011000015", "ach_account": "1234"},
                                   {"currency": "EUR", "iban": "AT611904300234573201"}]  # fmt: skip
    eur.entity.save()
    root = parsed(make(eur.entity, eur.payouts[:1]))
    assert root.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "AT611904300234573201"


def test_an_entity_without_an_eur_iban_is_told(eur):
    eur.entity.iban = ""
    eur.entity.save()
    with pytest.raises(pf.DomainError, match="no EUR account with an IBAN"):
        make(eur.entity, eur.payouts)


def test_another_entitys_payout_is_unknown(eur, usd):
    with pytest.raises(pf.DomainError, match=f"no payout {usd.payouts[0].pk} in nordlicht"):
        make(eur.entity, [eur.payouts[0], usd.payouts[0]])


def test_downloading_again_gives_the_stored_bytes_even_after_details_change(eur):
    file = make(eur.entity, eur.payouts)
    first = bytes(file.content)
    set_bank(eur.suppliers[0], iban="BE68539007547034")
    again = PaymentFile.objects.get(pk=file.pk)
    assert bytes(again.content) == first and again.sha256 == file.sha256
    assert b"BE68539007547034" not in first


def test_a_file_the_schema_refuses_is_never_made():
    payment = Payment(end_to_end_id="x" * 36, name="Too long an id", amount_minor=100, remittance="r",
                      iban="DE02120300000000202051")  # fmt: skip
    batch = Batch(message_id="LB-1", created_at=datetime(2026, 12, 7, 9), execution_date=date(2026, 12, 8),
                  currency="EUR", payer_name="Nordlicht", payments=(payment,), payer_iban="DE89370400440532013000")  # fmt: skip
    with pytest.raises(sepa.SchemaError, match="EndToEndId"):
        sepa.build(batch)


@pytest.mark.slow
def test_two_thousand_payouts_build_and_validate(eur, record_property):
    payments = tuple(Payment(end_to_end_id=f"1-{i}", name=f"Supplier {i}", amount_minor=1000 + i,
                             remittance=f"SB-SUP-{i:06d}", iban="DE02120300000000202051") for i in range(2000))  # fmt: skip
    batch = Batch(message_id="LB-BENCH", created_at=datetime(2026, 12, 7, 9),
                  execution_date=date(2026, 12, 8), currency="EUR", payer_name="Nordlicht",
                  payments=payments, payer_iban="DE89370400440532013000")  # fmt: skip
    started = time.perf_counter()
    content = sepa.build(batch)
    built = time.perf_counter() - started
    SCHEMA.assertValid(etree.fromstring(content))
    record_property("seconds", built)
    assert built < 30
