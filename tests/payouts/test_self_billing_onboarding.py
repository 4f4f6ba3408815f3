"""Issue 18, self-billing: US details (state, routing + account), full prefixes, the catch-up on opt-in,
the tax shown from draft on, the supplier's email with its documents, and the switch."""

from __future__ import annotations

import email
import email.policy
from decimal import Decimal

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.domain.errors import StateError
from leadbill.mailing.models import EmailSend
from leadbill.mailing.services import email_deliver
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.payouts.selectors import payout_amounts
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument, SellerProfile
from tests.factories import make_partner
from tests.mailing.test_smtp import Recorder, smtp  # noqa: F401
from tests.payouts.conftest import ACTOR, COMPLETE, OCTOBER, compute, opt_in, ready

US = {**COMPLETE, "legal_name": "Atlas Leads Inc.", "address_line1": "191 Commerce Street", "postal_code": "78701",
      "city": "Austin", "country": "US", "tax_id": "12-3456789", "iban": "", "bic": ""}  # fmt: skip


def test_a_us_supplier_gives_its_state_and_routing_and_account_instead_of_an_iban(world):
    profile = sbs.seller_details_set(
        actor=ACTOR, partner=world.supplier,
        details={**US, "region": "texas", "routing_number": "021000021", "account_number": "000123456789"},
    )  # fmt: skip
    assert (profile.region, profile.routing_number, profile.account_number) == ("TX", "021000021", "000123456789")


def test_wrong_us_details_are_named_per_field_and_nothing_is_saved(world):
    with pytest.raises(sbs.DetailsError) as exc:
        sbs.seller_details_set(actor=ACTOR, partner=world.supplier,
                             details={**US, "region": "XX", "routing_number": "021000022", "account_number": ""})  # fmt: skip
    assert exc.value.problems == {
        "region": "'XX' is not a US state: give its code or name, e.g. NY",
        "routing_number": "not a valid ABA routing number (9 digits with a check digit): '021000022'",
        "account_number": "give the account number that goes with the routing number",
    }
    assert not SellerProfile.objects.filter(partner=world.supplier).exists()


def test_a_routing_number_needs_its_account_number(world):
    with pytest.raises(sbs.DetailsError) as exc:
        sbs.seller_details_set(actor=ACTOR, partner=world.supplier, details={**US, "routing_number": "021000021"})
    assert exc.value.problems == {"account_number": "give the account number that goes with the routing number"}


def test_a_us_supplier_without_its_state_gets_no_self_invoice_and_is_told_why(world):
    opt_in(world, details=US, tax_rate=None)
    payout = ready(compute(world))
    assert payout.self_billing == "Lead Garden's self-billing details are incomplete: state."


def test_the_default_prefix_is_the_whole_code(world):
    supplier = make_partner(world.entity, code="quotewise-affiliates", name="Quotewise Affiliates", is_buyer=False,
                            is_supplier=True)  # fmt: skip
    profile = sbs.seller_details_set(actor=ACTOR, partner=supplier, details=COMPLETE)
    assert profile.number_prefix == "SB-QUOTEWISE-AFFILIATES-"


def test_opting_in_catches_up_ready_payouts_and_they_stop_saying_not_opted_in(world):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    payout = ready(compute(world))
    assert payout.self_billing == "Lead Garden has not opted in to self-billing."
    opt_in(world)
    payout.refresh_from_db()
    (doc,) = SelfBilledDocument.objects.filter(payout=payout)
    assert payout.self_billing == "" and payout.tax_minor == doc.tax_minor and payout.total_minor == doc.total_minor
    event = AuditEvent.objects.get(action="self_invoice.caught_up", object_id=str(payout.pk))
    assert event.data["numbers"] == [doc.number]


def test_opting_in_with_incomplete_details_updates_the_reason_instead(world):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    payout = ready(compute(world))
    opt_in(world, details={**COMPLETE, "tax_id": ""})
    payout.refresh_from_db()
    assert payout.self_billing == "Lead Garden's self-billing details are incomplete: tax id."
    assert not SelfBilledDocument.objects.filter(payout=payout).exists()


def test_paid_payouts_and_those_with_the_partners_own_invoice_are_not_caught_up(world):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    payout = ready(compute(world))
    sbs.supplier_invoice_upload(actor=ACTOR, payout=payout, name="mine.pdf", content=b"%PDF-1.7 mine")
    opt_in(world)
    assert not SelfBilledDocument.objects.filter(payout=payout).exists()


def test_tax_is_shown_from_draft_on_and_does_not_change_at_ready(world):
    opt_in(world, tax_rate="7.5")
    payout = compute(world)
    draft = payout_amounts([payout])[payout.pk]
    assert draft.estimated and draft.self_billed and str(draft.rate) == "7.50"
    assert draft.tax_minor > 0 and draft.total_minor == draft.net_minor + draft.tax_minor
    s.payout_transition(actor=ACTOR, payout=payout, to="pending")
    pending = payout_amounts([Payout.objects.select_related("entity").get(pk=payout.pk)])[payout.pk]
    ready_now = s.payout_transition(actor=ACTOR, payout=payout, to="ready")
    at_ready = payout_amounts([ready_now])[payout.pk]
    assert (pending.net_minor, pending.tax_minor, pending.total_minor) == (
        at_ready.net_minor, at_ready.tax_minor, at_ready.total_minor
    ) and not at_ready.estimated  # fmt: skip


def test_tax_of_a_payout_that_will_not_be_self_billed_is_left_to_the_suppliers_own_invoice(world):
    payout = compute(world)
    shown = payout_amounts([payout])[payout.pk]
    assert not shown.self_billed and shown.tax_minor == 0 and shown.total_minor == payout.amount_minor


def test_payout_amounts_reads_in_three_queries_however_many_payouts(world, django_assert_num_queries):
    opt_in(world)
    payouts = []
    for i in range(12):
        supplier = make_partner(world.entity, code=f"sup-{i}", is_buyer=False, is_supplier=True)
        payouts.append(s.payout_create(actor=ACTOR, partner=supplier, period=OCTOBER,
                                       lines=[s.ManualLine("Bonus", 1, Decimal("10"))]))  # fmt: skip
    rows = list(Payout.objects.filter(pk__in=[p.pk for p in payouts]).select_related("entity", "partner"))
    with django_assert_num_queries(3):
        payout_amounts(rows)


def test_generate_is_refused_while_the_switch_is_off(world):
    opt_in(world)
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=False)
    payout = ready(compute(world))
    with pytest.raises(StateError, match="Self-billing is switched off for Nordlicht Leads GmbH"):
        sbs.self_billing_generate(actor=ACTOR, payout=payout)


def test_the_switch_counts_the_opted_in_suppliers_and_audits_it(world):
    opt_in(world)
    assert sbs.opted_in_count(world.entity) == 1
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=False)
    event = AuditEvent.objects.filter(action="self_billing.switched_off").get()
    assert event.data["suppliers_opted_in"] == 1


def test_the_supplier_is_emailed_its_self_invoice_with_pdf_and_ubl_after_commit(
    world,
    smtp,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    world.entity.peppol_id = "0088:5790000435968"
    world.entity.save(update_fields=["peppol_id"])
    recorder = smtp(Recorder())
    opt_in(world, details={**COMPLETE, "peppol_id": "0088:5790000435975"})
    payout = compute(world)
    s.payout_transition(actor=ACTOR, payout=payout, to="pending")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        s.payout_transition(actor=ACTOR, payout=payout, to="ready")
        assert recorder.accepted == []  # nothing leaves before the commit
    (doc,) = SelfBilledDocument.objects.filter(payout=payout)
    send = EmailSend.objects.get(purpose=f"self_billed:{doc.pk}")
    assert send.recipients == ["payouts@leadgarden.example"] and callbacks
    assert email_deliver(send.pk) == "sent"
    (_, rcpt, raw), = recorder.accepted  # fmt: skip
    message = email.message_from_bytes(raw, policy=email.policy.default)
    names = sorted(part.get_filename() for part in message.iter_attachments())
    assert rcpt == ["payouts@leadgarden.example"] and doc.number in message["Subject"]
    assert names == [f"{doc.number}-ubl.xml", f"{doc.number}.pdf"]
    assert [p.get_content_type() for p in message.iter_attachments()] == ["application/pdf", "application/xml"]
    assert (
        b"<cbc:InvoiceTypeCode>389</cbc:InvoiceTypeCode>"
        in next(p for p in message.iter_attachments() if p.get_filename().endswith(".xml")).get_content()
    )


def test_the_email_is_queued_once_per_document(world):
    opt_in(world)
    (doc,) = ready(compute(world)).documents.all()
    assert sbs.self_billed_email(actor=ACTOR, doc=doc) is None
    assert EmailSend.objects.filter(purpose=f"self_billed:{doc.pk}").count() == 1


def test_completing_the_details_after_opting_in_self_invoices_what_waited(world):
    opt_in(world, details={**COMPLETE, "tax_id": ""})
    payout = ready(compute(world))
    assert payout.self_billing == "Lead Garden's self-billing details are incomplete: tax id."
    sbs.seller_details_set(actor=ACTOR, partner=world.supplier, details=COMPLETE, tax_rate="19")
    payout.refresh_from_db()
    (doc,) = SelfBilledDocument.objects.filter(payout=payout)
    assert payout.self_billing == "" and doc.role == "invoice"
