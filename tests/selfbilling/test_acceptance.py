"""The supplier accepts or disputes each self-invoice; a dispute reverses it (261) and sends the payout back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from leadbill.audit.models import AuditEvent
from leadbill.documents.services import document_file
from leadbill.domain.errors import DomainError, StateError
from leadbill.mailing.models import EmailSend
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.agreement import agreement_text
from leadbill.selfbilling.models import Agreement, SelfBilledDocument
from leadbill.webhooks.models import Attempt, Event
from tests.selfbilling.making import ACTOR, OWNER, hooks, self_invoiced

UBL = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


def test_a_self_invoice_is_issued_pending_and_due_after_the_period_its_agreement_names(world):
    doc = self_invoiced(world, days=5)
    agreement = Agreement.objects.get(partner=world.supplier)
    assert agreement.acceptance_days == 5
    text = agreement_text(entity=world.entity.legal_name, partner=world.supplier.name, days=5)
    assert "within 5 days" in text and "deemed accepted" in text
    assert (doc.acceptance, doc.acceptance_due_at) == ("pending", doc.issued_at + timedelta(days=5))
    # a later change of the entity's period is for agreements accepted from then on
    sbs.self_billing_terms_set(actor=ACTOR, entity=world.entity, acceptance_days="10", require_acceptance=False)
    assert Agreement.objects.get(partner=world.supplier).acceptance_days == 5
    with pytest.raises(DomainError, match="from 1 to 90"):
        sbs.self_billing_terms_set(actor=ACTOR, entity=world.entity, acceptance_days="91", require_acceptance=False)
    assert AuditEvent.objects.filter(action="self_billing.terms_set").count() == 2


def test_the_supplier_accepts_once_recorded_with_who_when_through_what_and_from_where(
    world, django_capture_on_commit_callbacks
):
    hooks(world.entity)
    doc = self_invoiced(world)
    with django_capture_on_commit_callbacks() as after_commit:
        accepted = sbs.self_invoice_accept(actor="portal:owner", doc=doc, decider=OWNER)
        assert not Attempt.objects.exists()  # nothing is sent before the write commits
    assert after_commit, "the webhook delivery is queued for after the commit"
    assert (accepted.acceptance, accepted.acceptance_by, accepted.acceptance_via, accepted.acceptance_from) == (
        "accepted", "owner@leadgarden.example", "portal", "203.0.113.7",
    )  # fmt: skip
    assert accepted.acceptance_at is not None
    # accepting again changes nothing, records nothing and announces nothing
    again = sbs.self_invoice_accept(actor="portal:owner", doc=doc, decider=sbs.Decider("other@x.example", "api"))
    assert (again.acceptance_by, again.acceptance_at) == (accepted.acceptance_by, accepted.acceptance_at)
    assert AuditEvent.objects.filter(action="self_invoice.accepted").count() == 1
    (event,) = Event.objects.filter(type="self_invoice.accepted")
    assert event.payload["number"] == doc.number and event.payload["deemed"] is False
    assert event.payload["acceptance"]["state"] == "accepted" and event.payload["acceptance"]["by"] == OWNER.by
    # an accepted self-invoice can no longer be disputed
    with pytest.raises(StateError, match=r"was accepted on .* too late to dispute"):
        sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER, reason="wrong count")


def test_a_dispute_reverses_it_by_a_261_that_passes_the_rules_and_sends_the_payout_back_to_review(
    einvoice, world, tmp_path, django_capture_on_commit_callbacks
):
    hooks(world.entity)
    doc = self_invoiced(world)
    payout = doc.payout
    with pytest.raises(DomainError, match="say what is wrong") as refused:
        sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER, reason="  ")
    assert refused.value.field == "reason"
    with django_capture_on_commit_callbacks(execute=False):
        sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER,
                                 reason="25 leads were delivered, not 30")  # fmt: skip
    doc.refresh_from_db()
    assert (doc.acceptance, doc.acceptance_reason) == ("disputed", "25 leads were delivered, not 30")
    assert doc.reversed_at is not None
    reversal = SelfBilledDocument.objects.get(corrects=doc, role="invoice_reversal")
    assert reversal.acceptance == "" and reversal.references == [doc.number]
    assert "disputed by the supplier" in reversal.notes[0] and "25 leads" in reversal.notes[0]
    ubl = tmp_path / f"{reversal.number}.ubl.xml"
    ubl.write_bytes(document_file(reversal, "ubl", actor=ACTOR).content)
    facturx = tmp_path / f"{reversal.number}.facturx.pdf"
    facturx.write_bytes(document_file(reversal, "facturx", actor=ACTOR).content)
    assert ET.fromstring(ubl.read_bytes()).findtext("cbc:CreditNoteTypeCode", namespaces=UBL) == "261"
    result = einvoice([ubl, facturx], "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    payout.refresh_from_db()
    assert payout.status == "pending" and payout.ready_at is None
    assert doc.number in payout.review_reason and "25 leads were delivered" in payout.review_reason
    assert (payout.tax_minor, payout.total_minor) == (0, payout.amount_minor)
    with pytest.raises(StateError, match="the payout is pending"):
        s.payout_transition(actor=ACTOR, payout=payout, to="paid")  # never paid while it waits for review
    # accepting or disputing it again is refused, naming what happened
    with pytest.raises(StateError, match=r"was disputed on .* and reversed"):
        sbs.self_invoice_accept(actor="portal:owner", doc=doc, decider=OWNER)
    with pytest.raises(StateError, match="was disputed"):
        sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER, reason="again")
    assert Event.objects.filter(type="self_invoice.disputed").count() == 1
    assert AuditEvent.objects.filter(action="payout.back_to_review", object_id=str(payout.pk)).count() == 1
    staff = EmailSend.objects.get(purpose=f"self_invoice_disputed:{doc.pk}")
    assert staff.recipients == ["billing@nordlicht.example"] and "25 leads were delivered" in staff.body


def test_approving_again_issues_a_corrected_self_invoice_and_two_live_ones_stay_impossible(world):
    doc = self_invoiced(world)
    sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER, reason="wrong period")
    payout = s.payout_transition(actor=ACTOR, payout=doc.payout, to="ready")
    assert payout.review_reason == ""
    corrected = SelfBilledDocument.objects.filter(payout=payout).live().get()
    assert corrected.pk != doc.pk and corrected.role == "invoice" and corrected.acceptance == "pending"
    assert corrected.number != doc.number and corrected.total_minor == doc.total_minor
    assert Payout.objects.get(pk=payout.pk).total_minor == corrected.total_minor
    with pytest.raises(StateError, match="already has its self-billed documents"):
        sbs.self_billing_generate(actor=ACTOR, payout=payout)
    # the database keeps one live self-invoice per payout, and one reversal per document
    twin = SelfBilledDocument.objects.get(pk=corrected.pk)
    twin.pk, twin.sequence, twin.number = None, twin.sequence + 100, twin.number + "-TWIN"
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()
    second = SelfBilledDocument.objects.get(corrects=doc, role="invoice_reversal")
    second.pk, second.sequence, second.number = None, second.sequence + 100, second.number + "-TWICE"
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    # the corrected one is accepted and the payout is paid as usual
    sbs.self_invoice_accept(actor="portal:owner", doc=corrected, decider=OWNER)
    assert s.payout_transition(actor=ACTOR, payout=payout, to="paid").status == "paid"


def test_a_dispute_after_payment_keeps_the_payout_paid_and_staff_generate_the_corrected_one(world):
    doc = self_invoiced(world)
    s.payout_transition(actor=ACTOR, payout=doc.payout, to="paid")
    sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER, reason="tax rate should be 7 %")
    payout = Payout.objects.get(pk=doc.payout_id)
    assert payout.status == "paid" and "after payment" in payout.review_reason
    (corrected,) = sbs.self_billing_generate(actor=ACTOR, payout=payout)
    assert corrected.is_live and corrected.acceptance == "pending"


def test_cancelling_a_disputed_and_corrected_payout_reverses_only_the_live_documents(world):
    doc = self_invoiced(world)
    sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER, reason="wrong")
    payout = s.payout_transition(actor=ACTOR, payout=doc.payout, to="ready")
    s.payout_transition(actor=ACTOR, payout=payout, to="cancelled", reason="agreed to drop it")
    roles = list(SelfBilledDocument.objects.filter(payout=payout).order_by("pk").values_list("role", "reversed_at"))
    assert [r for r, _ in roles] == ["invoice", "invoice_reversal", "invoice", "invoice_reversal"]
    assert not SelfBilledDocument.objects.filter(payout=payout).live().exists()


def test_a_reversal_is_not_accepted_or_disputed_itself(world):
    doc = self_invoiced(world)
    sbs.self_invoice_dispute(actor="portal:owner", doc=doc, decider=OWNER, reason="wrong")
    reversal = SelfBilledDocument.objects.get(corrects=doc)
    with pytest.raises(StateError, match="reverses another document"):
        sbs.self_invoice_accept(actor="portal:owner", doc=reversal, decider=OWNER)
