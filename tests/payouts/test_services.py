"""Payouts: computed from supplied leads, their lifecycle, and the self-invoices made on "ready"."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Return
from leadbill.domain.errors import DomainError, StateError
from leadbill.entities.models import Entity, NumberSeries
from leadbill.payouts import services as s
from leadbill.payouts.models import DeductedLead, PaidLead, Payout
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import Agreement, SelfBilledDocument
from tests.factories import make_plan
from tests.payouts.conftest import (
    ACTOR,
    COMPLETE,
    MAIN,
    NOVEMBER,
    OCTOBER,
    compute,
    make_supplier,
    opt_in,
    ready,
    supply,
)
from tests.selfbilling.making import OWNER

pytestmark = pytest.mark.django_db


def test_payout_pays_supplied_leads_on_the_buy_plan_and_at_recorded_cost(world):
    payout = compute(world)
    lines = list(payout.lines.all())
    assert [(line.description, line.quantity, line.amount_minor) for line in lines] == [
        ("Leads supplied \u2014 Car insurance \u2014 flat", 25, 10_000),
        ("Leads supplied \u2014 Car insurance \u2014 recorded cost", 5, 3_250),
    ]
    assert (payout.status, payout.currency, payout.amount_minor, payout.leads_paid) == ("draft", "EUR", 13_250, 30)
    paid = PaidLead.objects.filter(payout=payout, voided=False)
    assert paid.count() == 30 and sum(paid.values_list("amount_minor", flat=True)) == 13_250


def test_graduated_buy_plan_ranks_the_periods_leads(world):
    make_plan(world.supplier, "graduated", side="buy", effective_from=datetime(2026, 10, 1, tzinfo=UTC),
              config={"tiers": [{"up_to": 10, "price": "5.00"}, {"up_to": None, "price": "3.333"}]})  # fmt: skip
    payout = compute(world)
    charges = [(line.quantity, line.amount_minor) for line in payout.lines.all()]
    # 10 × 5.00, then 15 × 3.333 = 49.995 → 50.00 (rounded once per line), then the 5 at recorded cost.
    assert charges == [(10, 5_000), (15, 5_000), (5, 3_250)]
    assert payout.amount_minor == 13_250


def test_returned_leads_never_paid_are_left_out_and_unpriced_ones_are_reported(world):
    Return.objects.create(entity=world.entity, delivery=world.leads[0], reason="bad phone", status="accepted",
                          requested_at=datetime(2026, 10, 6, tzinfo=UTC))  # fmt: skip
    other = make_supplier(world.entity, code="no-plan", name="No Plan Ltd")
    other.price_plans.all().delete()
    supply(other, world.buyer, 3, datetime(2026, 10, 7, tzinfo=UTC))
    payout = compute(world)
    assert payout.leads_paid == 29 and payout.amount_minor == 13_250 - 400
    result = s.payout_compute(actor=ACTOR, entity=world.entity, period=OCTOBER, partners=[other])
    (unpriced,) = result.created
    assert unpriced.amount_minor == 0 and not unpriced.lines.exists()
    assert "3 lead(s) of Car insurance have no recorded cost and no supplier price plan" in unpriced.anomalies[0]


def test_computing_again_refreshes_a_draft_but_keeps_a_payout_under_review(world):
    first = compute(world)
    supply(world.supplier, world.buyer, 2, datetime(2026, 10, 30, tzinfo=UTC))
    again = compute(world)
    assert again.pk == first.pk and again.leads_paid == 32 and again.amount_minor == 13_250 + 800
    s.payout_transition(actor=ACTOR, payout=again, to="pending")
    supply(world.supplier, world.buyer, 1, datetime(2026, 10, 31, tzinfo=UTC))
    result = s.payout_compute(actor=ACTOR, entity=world.entity, period=OCTOBER, partners=[world.supplier])
    assert [p.pk for p in result.kept] == [first.pk] and not result.created
    # With nothing new it is still reported as kept, not as "nothing to pay".
    late = result
    result = s.payout_compute(actor=ACTOR, entity=world.entity, period=OCTOBER, partners=[world.supplier])
    assert [p.pk for p in late.kept] == [p.pk for p in result.kept] == [first.pk] and result.empty == []
    assert Payout.objects.get(pk=first.pk).leads_paid == 32  # the late lead waits for a later payout
    november = compute(world, NOVEMBER)
    assert [line.description for line in november.lines.all()] == [
        "Earlier deliveries: Leads supplied \u2014 Car insurance \u2014 flat"
    ]


def test_lifecycle_refuses_skipping_review_and_cancelling_a_paid_payout(world):
    payout = compute(world)
    with pytest.raises(StateError, match="it can go to pending or cancelled"):
        s.payout_transition(actor=ACTOR, payout=payout, to="ready")
    ready(payout)
    paid = s.payout_transition(actor=ACTOR, payout=payout, to="paid", reference="SEPA 2026-11-03",
                               paid_on=date(2026, 11, 3))  # fmt: skip
    assert (paid.paid_on, paid.paid_reference) == (date(2026, 11, 3), "SEPA 2026-11-03")
    with pytest.raises(StateError, match="the payout is paid; that is final"):
        s.payout_transition(actor=ACTOR, payout=payout, to="cancelled", reason="oops")
    with pytest.raises(DomainError, match="unknown payout status"):
        s.payout_transition(actor=ACTOR, payout=payout, to="archived")


def test_one_payout_per_partner_period_and_currency_is_a_database_constraint(world):
    line = [s.ManualLine("October commission", 1, Decimal("250.00"))]
    first = s.payout_create(actor=ACTOR, partner=world.supplier, period=OCTOBER, lines=line)
    with pytest.raises(StateError, match="already has a payout for 2026-10 in EUR"):
        s.payout_create(actor=ACTOR, partner=world.supplier, period=OCTOBER, lines=line)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(**{f.attname: getattr(first, f.attname) for f in Payout._meta.concrete_fields
                                 if not f.primary_key})  # fmt: skip
    with pytest.raises(DomainError, match="a quantity from 1 to 10,000,000") as caught:
        s.payout_create(actor=ACTOR, partner=world.supplier, period=NOVEMBER,
                        lines=[*line, s.ManualLine("Huge", 10**12, Decimal(10**9))])  # fmt: skip
    assert caught.value.field == "lines[1].quantity"
    usd = s.payout_create(actor=ACTOR, partner=world.supplier, period=OCTOBER, lines=line, currency="USD")
    s.payout_transition(actor=ACTOR, payout=first, to="cancelled", reason="entered twice")
    again = s.payout_create(actor=ACTOR, partner=world.supplier, period=OCTOBER, lines=line)
    assert {first.pk, usd.pk, again.pk} == set(Payout.objects.values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("description", "note", "field"),
    [("Bonus\x1b[31m", "", "lines[1].description"), ("Bonus\nmore", "", "lines[1].description"),
     ("Bonus", "n\x07ote", "note")],
)  # fmt: skip
def test_manual_payout_text_with_control_characters_is_refused_naming_the_field(world, description, note, field):
    lines = [s.ManualLine("October commission", 1, Decimal("250.00")), s.ManualLine(description, 1, Decimal(10))]
    with pytest.raises(DomainError) as caught:
        s.payout_create(actor=ACTOR, partner=world.supplier, period=OCTOBER, lines=lines, note=note)
    assert caught.value.field == field
    assert not Payout.objects.exists()


def test_manual_payout_text_is_trimmed_and_a_note_keeps_its_line_breaks(world):
    payout = s.payout_create(actor=ACTOR, partner=world.supplier, period=OCTOBER, note="  agreed by phone\nAda ",
                             lines=[s.ManualLine("  October bonus ", 1, Decimal(10))])  # fmt: skip
    assert (payout.lines.get().description, payout.note) == ("October bonus", "agreed by phone\nAda")
    with pytest.raises(DomainError, match="at most 300 characters") as caught:
        s.payout_create(actor=ACTOR, partner=world.supplier, period=NOVEMBER, lines=[s.ManualLine("x" * 301, 1, 1)])
    assert caught.value.field == "lines[0].description"


# --- the switch × opt-in × details matrix ---------------------------------------------------------

MATRIX = list(itertools.product([True, False], [True, False], [True, False]))


@pytest.mark.parametrize(("switch", "opted_in", "complete"), MATRIX,
                         ids=[f"switch-{a}-optin-{b}-details-{c}" for a, b, c in MATRIX])  # fmt: skip
def test_self_invoice_is_made_only_with_switch_opt_in_and_complete_details(world, switch, opted_in, complete):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)  # the partner can opt in only while offered
    world.supplier.refresh_from_db()
    details = COMPLETE if complete else {**COMPLETE, "tax_id": "", "city": ""}
    sbs.seller_details_set(actor=ACTOR, partner=world.supplier, details=details, tax_rate="19")
    if opted_in:
        sbs.self_billing_opt_in(actor=ACTOR, partner=world.supplier, signer=MAIN, accepted=True)
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=switch)
    payout = ready(compute(world))
    docs = list(SelfBilledDocument.objects.filter(payout=payout))
    if switch and opted_in and complete:
        assert [(d.role, d.number) for d in docs] == [("invoice", "SB-LEAD-GARDEN-000001")]
        assert payout.self_billing == ""
        assert (payout.tax_minor, payout.total_minor) == (2_518, 15_768)
    else:
        assert docs == []
        expected = (
            "Self-billing is switched off for Nordlicht Leads GmbH." if not switch
            else "Lead Garden has not opted in to self-billing." if not opted_in
            else "Lead Garden's self-billing details are incomplete: city, tax id."
        )  # fmt: skip
        assert payout.self_billing == expected
        assert (payout.tax_minor, payout.total_minor) == (0, payout.amount_minor)
        with pytest.raises(StateError, match=expected.rstrip(".").replace("'", ".")):
            sbs.self_billing_generate(actor=ACTOR, payout=payout)


def test_exactly_one_self_invoice_per_ready_payout_however_often_generation_runs(world):
    opt_in(world)
    payout = ready(compute(world))
    with pytest.raises(StateError, match="already has its self-billed documents"):
        sbs.self_billing_generate(actor=ACTOR, payout=payout)
    doc = SelfBilledDocument.objects.get(payout=payout)
    with pytest.raises(IntegrityError), transaction.atomic():  # and the database itself refuses a second
        SelfBilledDocument.objects.create(**{f.attname: getattr(doc, f.attname) for f in doc._meta.concrete_fields
                                             if f.attname not in ("id", "sequence", "number")},
                                          sequence=99, number="SB-X-99")  # fmt: skip
    s.payout_transition(actor=ACTOR, payout=payout, to="paid")
    assert SelfBilledDocument.objects.filter(payout=payout).count() == 1


def test_opting_in_self_invoices_the_payouts_already_ready_and_audits_it(world):
    payout = ready(compute(world))
    assert payout.self_billing == "Self-billing is switched off for Nordlicht Leads GmbH."
    opt_in(world)  # switch on, details, agreement: the ready payout is caught up in the opt-in
    (doc,) = SelfBilledDocument.objects.filter(payout=payout)
    assert doc.number == "SB-LEAD-GARDEN-000001" and Payout.objects.get(pk=payout.pk).self_billing == ""
    assert AuditEvent.objects.filter(action="self_invoice.caught_up", object_id=str(payout.pk)).exists()
    with pytest.raises(StateError, match="already has its self-billed documents"):
        sbs.self_billing_generate(actor=ACTOR, payout=payout)


def test_ready_cancelled_then_a_new_payout_reverses_and_reissues_in_the_partners_series(world):
    opt_in(world)
    first = ready(compute(world))
    cancelled = s.payout_transition(actor=ACTOR, payout=first, to="cancelled", reason="wrong cost file")
    docs = list(SelfBilledDocument.objects.filter(payout=first).order_by("sequence"))
    assert [(d.role, d.number, d.corrects_id) for d in docs] == [
        ("invoice", "SB-LEAD-GARDEN-000001", None),
        ("invoice_reversal", "SB-LEAD-GARDEN-000002", docs[0].pk),
    ]
    assert docs[1].total_minor == docs[0].total_minor == 15_768 and docs[1].notes == [
        "Reverses SB-LEAD-GARDEN-000001: wrong cost file"
    ]
    assert cancelled.status == "cancelled" and not PaidLead.objects.filter(payout=first, voided=False).exists()
    second = ready(compute(world))  # the leads are free again: a new payout for the same period
    assert second.pk != first.pk and second.leads_paid == 30
    (doc,) = SelfBilledDocument.objects.filter(payout=second)
    assert doc.number == "SB-LEAD-GARDEN-000003" and doc.total_minor == 15_768
    assert SelfBilledDocument.objects.filter(role="invoice").count() == 2  # one per ready payout


def test_tax_rate_is_added_per_rate_on_the_sum_and_rounded_half_up(world):
    opt_in(world, tax_rate="7.5")
    payout = ready(compute(world))
    (doc,) = payout.documents.all()
    # 132.50 × 7.5 % = 9.9375 → 9.94; once on the sum, not per line (100.00 → 7.50, 32.50 → 2.4375).
    assert (doc.subtotal_minor, doc.tax_minor, doc.total_minor) == (13_250, 994, 14_244)
    assert doc.taxes == [{"rate": "7.50", "net_minor": 13_250, "tax_minor": 994}]
    assert {line.tax_rate_bp for line in doc.lines.all()} == {750}


def test_no_tax_rate_means_no_tax_added(world):
    opt_in(world, tax_rate="")
    (doc,) = ready(compute(world)).documents.all()
    assert (doc.subtotal_minor, doc.tax_minor, doc.total_minor) == (13_250, 0, 13_250)


def test_each_partner_numbers_its_self_invoices_in_its_own_series(world):
    opt_in(world)
    other = make_supplier(world.entity, code="kfz-direkt", name="Kfz Direkt")
    supply(other, world.buyer, 4, datetime(2026, 10, 9, tzinfo=UTC))
    sbs.seller_details_set(actor=ACTOR, partner=other, details={**COMPLETE, "legal_name": "Kfz Direkt GmbH"},
                         number_prefix="KD-GS-")  # fmt: skip
    sbs.self_billing_opt_in(actor=ACTOR, partner=other, signer=MAIN, accepted=True)
    ready(compute(world))
    ready(s.payout_compute(actor=ACTOR, entity=world.entity, period=OCTOBER, partners=[other]).created[0])
    s.payout_create(actor=ACTOR, partner=world.supplier, period=NOVEMBER, lines=[s.ManualLine("Bonus", 1, Decimal(50))])
    ready(Payout.objects.get(partner=world.supplier, period_key="2026-11"))
    numbers = sorted(SelfBilledDocument.objects.values_list("partner__code", "number"))
    assert numbers == [("kfz-direkt", "KD-GS-000001"), ("lead-garden", "SB-LEAD-GARDEN-000001"),
                       ("lead-garden", "SB-LEAD-GARDEN-000002")]  # fmt: skip
    series = dict(NumberSeries.objects.filter(entity=world.entity).values_list("series", "next_number"))
    assert series["invoice"] == 1 and series["credit_note"] == 1  # the entity's own series are untouched


def test_switching_off_stops_new_self_invoices_and_keeps_issued_ones(world):
    opt_in(world)
    october = ready(compute(world))
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=False)
    supply(world.supplier, world.buyer, 3, datetime(2026, 11, 3, tzinfo=UTC))
    november = ready(compute(world, NOVEMBER))
    assert october.documents.count() == 1 and november.documents.count() == 0
    assert november.self_billing == "Self-billing is switched off for Nordlicht Leads GmbH."
    upload = sbs.supplier_invoice_upload(actor="user:owner@leadgarden.example", payout=november,
                                       name="RE-2026-118.pdf", content=b"%PDF-1.7 partner's own", reference="RE-118")  # fmt: skip
    assert upload.media_type == "application/pdf"
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    with pytest.raises(StateError, match="uploaded its own invoice"):
        sbs.self_billing_generate(actor=ACTOR, payout=november)
    with pytest.raises(StateError, match="has a self-invoice"):
        sbs.supplier_invoice_upload(actor=ACTOR, payout=october, name="x.pdf", content=b"%PDF-1.7")


def test_opting_out_stops_future_self_invoices(world):
    opt_in(world)
    ready(compute(world))
    sbs.self_billing_opt_out(actor=ACTOR, partner=world.supplier, signer=MAIN)
    supply(world.supplier, world.buyer, 3, datetime(2026, 11, 3, tzinfo=UTC))
    november = ready(compute(world, NOVEMBER))
    assert november.documents.count() == 0 and november.self_billing == "Lead Garden has not opted in to self-billing."
    record = Agreement.objects.get(partner=world.supplier)
    assert record.withdrawn_by == MAIN.email and record.withdrawn_at is not None


def test_acceptance_is_recorded_with_version_who_when_and_where(world):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    world.supplier.refresh_from_db()
    colleague = sbs.Signer(email="intern@leadgarden.example", is_main_contact=False, address="203.0.113.8")
    with pytest.raises(StateError, match="only the partner's main contact"):
        sbs.self_billing_opt_in(actor=ACTOR, partner=world.supplier, signer=colleague, accepted=True)
    with pytest.raises(DomainError, match="accept the self-billing agreement"):
        sbs.self_billing_opt_in(actor=ACTOR, partner=world.supplier, signer=MAIN, accepted=False)
    agreement = sbs.self_billing_opt_in(
        actor=ACTOR, partner=world.supplier, signer=MAIN, accepted=True, via="onboarding"
    )
    assert (agreement.version, agreement.accepted_by, agreement.accepted_from, agreement.via) == (
        "2026-12",
        "owner@leadgarden.example",
        "203.0.113.7",
        "onboarding",
    )
    assert len(agreement.text_sha256) == 64 and agreement.accepted_at is not None
    event = AuditEvent.objects.get(action="self_billing.opted_in")
    assert event.data["address"] == "203.0.113.7" and event.data["version"] == "2026-12"
    with pytest.raises(IntegrityError), transaction.atomic():  # one agreement in force, by the database
        Agreement.objects.create(entity=world.entity, partner=world.supplier, version="2026-11", text_sha256="0" * 64,
                                 accepted_by="x", accepted_at=agreement.accepted_at, via="account")  # fmt: skip


def test_opting_in_is_refused_while_the_entity_does_not_offer_self_billing(world):
    with pytest.raises(StateError, match="does not offer self-billing"):
        sbs.self_billing_opt_in(actor=ACTOR, partner=world.supplier, signer=MAIN, accepted=True)


def test_opting_in_is_refused_when_the_switch_went_off_after_the_page_was_shown(world):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    world.supplier.refresh_from_db()
    assert world.supplier.entity.self_billing  # what the partner's page was built from
    sbs.self_billing_switch(actor=ACTOR, entity=Entity.objects.get(pk=world.entity.pk), on=False)
    with pytest.raises(StateError, match="does not offer self-billing"):
        sbs.self_billing_opt_in(actor=ACTOR, partner=world.supplier, signer=MAIN, accepted=True)
    assert not Agreement.objects.filter(partner=world.supplier).exists()


def test_seller_details_name_every_wrong_field_and_save_nothing(world):
    with pytest.raises(sbs.DetailsError) as caught:
        sbs.seller_details_set(actor=ACTOR, partner=world.supplier, tax_rate="19,5",
                             details={**COMPLETE, "country": "Germany", "iban": "DE00 1234", "email": "no"})  # fmt: skip
    assert set(caught.value.problems) == {"country", "iban", "email", "tax_rate"}
    with pytest.raises(sbs.DetailsError) as caught:
        sbs.seller_details_set(actor=ACTOR, partner=world.supplier, details={**COMPLETE, "tax_id": "FR40303265045"})
    assert caught.value.problems == {"tax_id": "a VAT number of DE starts with DE, got 'FR40303265045'"}
    assert not hasattr(world.supplier, "seller_profile") or world.supplier.seller_profile is None


def test_seller_details_check_the_vat_number_bic_and_peppol_id_by_their_rules(world):
    with pytest.raises(sbs.DetailsError) as caught:
        sbs.seller_details_set(actor=ACTOR, partner=world.supplier,
                             details={**COMPLETE, "tax_id": "DE287654321", "bic": "DEUTXXFF",
                                      "peppol_id": "9930:DE287654321"})  # fmt: skip
    assert caught.value.problems == {
        "tax_id": "not a valid DE VAT number (check digit does not match): 'DE287654321'",
        "bic": "not a valid BIC (Invalid country code 'XX'), e.g. DEUTDEFF",
        "peppol_id": "9930:DE287654321 is not a valid VAT number of DE (DE…)",
    }
    assert not hasattr(world.supplier, "seller_profile") or world.supplier.seller_profile is None


def test_returned_lead_already_paid_out_gives_the_supplier_a_credit_note_and_the_buyer_a_credit(world):
    from leadbill.invoicing.models import Invoice
    from leadbill.invoicing.services import invoice_run_issue

    opt_in(world)
    invoice_run_issue(actor=ACTOR, entity=world.entity, period=OCTOBER)  # the buyer pays 30 × 10.00
    october = ready(compute(world))
    s.payout_transition(actor=ACTOR, payout=october, to="paid", reference="SEPA 2026-11-02")
    returned = [world.leads[3], world.leads[27]]  # one on the buy plan (4.00), one at recorded cost (6.50)
    for lead in returned:
        Return.objects.create(entity=world.entity, delivery=lead, reason="disconnected number", status="accepted",
                              requested_at=datetime(2026, 11, 4, tzinfo=UTC),
                              decided_at=datetime(2026, 11, 4, tzinfo=UTC))  # fmt: skip
    supply(world.supplier, world.buyer, 10, datetime(2026, 11, 6, tzinfo=UTC))
    # The buyer: its November invoice credits both returned leads at what it was billed for them.
    invoice_run_issue(actor=ACTOR, entity=world.entity, period=NOVEMBER, allow_open_period=True)
    buyer_nov = Invoice.objects.get(partner=world.buyer, period_key="2026-11")
    credit = buyer_nov.lines.get(kind="return_credit")
    assert (credit.quantity, credit.amount_minor) == (2, -2_000)
    # The supplier: its November payout pays the new leads and deducts the two returned ones at what it was paid.
    november = compute(world, NOVEMBER)
    deduction = november.lines.get(kind="return_deduction")
    assert (deduction.quantity, deduction.amount_minor) == (2, -1_050)
    assert deduction.description == "Returned leads paid out on payout 2026-10, self-invoice SB-LEAD-GARDEN-000001"
    assert november.amount_minor == 4_000 - 1_050
    ready(november)
    invoice, credit_note = november.documents.order_by("sequence")
    assert (invoice.role, invoice.number, invoice.total_minor) == ("invoice", "SB-LEAD-GARDEN-000002", 4_760)
    assert (credit_note.role, credit_note.number) == ("credit", "SB-LEAD-GARDEN-000003")
    # 10.50 back at the 19 % it was invoiced at: 12.50 (1.995 → 2.00 tax), presented positive, naming the original.
    assert (credit_note.subtotal_minor, credit_note.tax_minor, credit_note.total_minor) == (1_050, 200, 1_250)
    assert credit_note.references == ["SB-LEAD-GARDEN-000001"] and credit_note.corrects.payout_id == october.pk
    assert Payout.objects.get(pk=november.pk).total_minor == 4_760 - 1_250
    assert DeductedLead.objects.filter(payout=november, voided=False).count() == 2
    # Computing again deducts nothing twice.
    december = s.payout_compute(actor=ACTOR, entity=world.entity, period=NOVEMBER.next(), partners=[world.supplier],
                                allow_open_period=True)  # fmt: skip
    assert not december.created and december.empty == ["lead-garden"]


def test_cancelling_a_payout_whose_returns_were_deducted_elsewhere_is_refused(world):
    october = ready(compute(world))
    Return.objects.create(entity=world.entity, delivery=world.leads[0], reason="dup", status="accepted",
                          requested_at=datetime(2026, 11, 4, tzinfo=UTC))  # fmt: skip
    november = compute(world, NOVEMBER)
    ready(november)
    with pytest.raises(StateError, match=f"deducted on payout\\(s\\) {november.pk}; cancel those first"):
        s.payout_transition(actor=ACTOR, payout=october, to="cancelled", reason="late doubts")


def test_a_draft_with_returned_leads_must_be_computed_again_before_review(world):
    payout = compute(world)
    Return.objects.create(entity=world.entity, delivery=world.leads[0], reason="dup", status="accepted",
                          requested_at=datetime(2026, 10, 31, tzinfo=UTC))  # fmt: skip
    with pytest.raises(StateError, match="1 lead\\(s\\) on this payout were returned since it was computed"):
        s.payout_transition(actor=ACTOR, payout=payout, to="pending")
    payout = compute(world)
    assert s.payout_transition(actor=ACTOR, payout=payout, to="pending").leads_paid == 29


def _disputed_back_to_draft(world) -> Payout:
    """A self-invoiced payout disputed by the supplier (its 389 reversed) and sent back to draft by staff."""
    opt_in(world)
    payout = ready(compute(world))
    doc = SelfBilledDocument.objects.get(payout=payout, role="invoice")
    sbs.self_invoice_dispute(actor=ACTOR, doc=doc, decider=OWNER, reason="all these leads were bad")
    return s.payout_transition(actor=ACTOR, payout=payout, to="draft")


def test_a_draft_back_from_a_dispute_whose_leads_were_all_returned_pays_nothing_and_says_so(world):
    payout = _disputed_back_to_draft(world)
    for lead in world.leads:
        Return.objects.create(entity=world.entity, delivery=lead, reason="bad", status="accepted",
                              requested_at=datetime(2026, 10, 31, tzinfo=UTC))  # fmt: skip
    result = s.payout_compute(actor=ACTOR, entity=world.entity, period=OCTOBER, partners=[world.supplier],
                              allow_open_period=True)  # fmt: skip
    assert [p.pk for p in result.refreshed] == [payout.pk] and result.kept == [] and result.created == []
    payout.refresh_from_db()
    assert (payout.amount_minor, payout.tax_minor, payout.total_minor, payout.leads_paid) == (0, 0, 0, 0)
    assert not payout.lines.exists() and not PaidLead.objects.filter(payout=payout).exists()
    assert SelfBilledDocument.objects.filter(payout=payout).count() == 2  # the 389 and its reversal stay on it
    computed = AuditEvent.objects.filter(action="payout.computed", object_id=str(payout.pk)).order_by("pk").last()
    assert computed.data["amount_minor"] == 0 and computed.data["refreshed"] is True
    ready(payout)
    payout.refresh_from_db()
    assert (payout.amount_minor, payout.tax_minor, payout.total_minor) == (0, 0, 0)


def test_a_draft_back_from_a_dispute_computed_again_is_refreshed_not_also_kept(world):
    payout = _disputed_back_to_draft(world)
    result = s.payout_compute(actor=ACTOR, entity=world.entity, period=OCTOBER, partners=[world.supplier],
                              allow_open_period=True)  # fmt: skip
    assert [p.pk for p in result.refreshed] == [payout.pk] and result.kept == []
    assert Payout.objects.get(pk=payout.pk).amount_minor == 13_250


def test_payout_ready_and_self_invoice_issued_reach_webhooks(world, django_capture_on_commit_callbacks, fake_dns):
    fake_dns({"hooks.example": ["93.184.216.34"]})
    from leadbill.webhooks.models import Event
    from leadbill.webhooks.services import endpoint_add

    endpoint_add(actor=ACTOR, entity=world.entity, url="https://hooks.example/leadbill",
                 events=["payout.ready", "self_invoice.issued"])  # fmt: skip
    opt_in(world)
    payout = compute(world)
    s.payout_transition(actor=ACTOR, payout=payout, to="pending")
    with django_capture_on_commit_callbacks(execute=False):
        s.payout_transition(actor=ACTOR, payout=payout, to="ready")
    events = {e.type: e.payload for e in Event.objects.all()}
    assert set(events) == {"payout.ready", "self_invoice.issued"}
    assert events["self_invoice.issued"]["type_code"] == "389"
    assert events["self_invoice.issued"]["total"] == "157.68"
    assert events["payout.ready"]["documents"][0]["number"] == "SB-LEAD-GARDEN-000001"


def test_an_open_period_is_computed_only_when_asked(world, frozen):
    frozen(datetime(2026, 11, 21, 12, tzinfo=UTC))
    with pytest.raises(DomainError, match=r"has not ended yet .* would go to the next payout"):
        s.payout_compute(actor=ACTOR, entity=world.entity, period=NOVEMBER)
    (payout,) = s.payout_compute(actor=ACTOR, entity=world.entity, period=NOVEMBER, allow_open_period=True).created
    assert payout.leads_paid == 30  # October's leads, never paid, come along as earlier deliveries


def test_a_deduction_paid_on_a_zero_rate_self_invoice_is_estimated_at_zero_as_it_is_then_issued(world):
    from leadbill.payouts.selectors import payout_amounts

    opt_in(world, tax_rate="0")  # October self-invoiced at 0 %
    october = ready(compute(world))
    assert october.documents.get().tax_minor == 0
    s.payout_transition(actor=ACTOR, payout=october, to="paid", reference="SEPA 2026-11-02")
    sbs.seller_details_set(actor=ACTOR, partner=world.supplier, details=COMPLETE, tax_rate="19")  # now 19 %
    for lead in (world.leads[3], world.leads[27]):
        Return.objects.create(entity=world.entity, delivery=lead, reason="disconnected number", status="accepted",
                              requested_at=datetime(2026, 11, 4, tzinfo=UTC),
                              decided_at=datetime(2026, 11, 4, tzinfo=UTC))  # fmt: skip
    supply(world.supplier, world.buyer, 10, datetime(2026, 11, 6, tzinfo=UTC))
    november = compute(world, NOVEMBER)
    s.payout_transition(actor=ACTOR, payout=november, to="pending")
    seen = payout_amounts([Payout.objects.get(pk=november.pk)])[november.pk]
    assert seen.estimated and seen.tax_minor == 760  # 19 % of the 40.00 paid now; the 10.50 back at 0 %
    s.payout_transition(actor=ACTOR, payout=november, to="ready")
    issued = Payout.objects.get(pk=november.pk)
    assert (issued.tax_minor, issued.total_minor) == (seen.tax_minor, seen.total_minor)  # approving changed nothing
