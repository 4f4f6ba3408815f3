"""A file holds its payouts once; cancelling frees them; marking it sent pays them through the payouts service."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from leadbill.audit.models import AuditEvent
from leadbill.domain.errors import StateError
from leadbill.payment_files import services as pf
from leadbill.payment_files.models import PaymentFile, PaymentFileItem
from leadbill.payouts import services as payout_services
from leadbill.payouts.models import Payout
from tests.payment_files.conftest import ACTOR

SENT_ON = date(2026, 12, 9)


def make(eur, payouts=None, **kw) -> PaymentFile:
    chosen = eur.payouts if payouts is None else payouts
    return pf.payment_file_create(actor=ACTOR, entity=eur.entity, kind="sepa", payout_ids=[p.pk for p in chosen], **kw)


def test_the_database_refuses_a_payout_in_two_live_files(eur):
    file = make(eur)
    other = PaymentFile.objects.create(
        entity=eur.entity, kind="sepa", currency="EUR", message_id="direct", name="x", media_type="x", content=b"",
        sha256="", size=0, total_minor=0, count=0, execution_date=file.execution_date, created_by="t",
        created_at=file.created_at,
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentFileItem.objects.create(file=other, payout=eur.payouts[0], position=1, amount_minor=1,
                                       end_to_end_id="x", remittance="x", payee_name="x", account="x")  # fmt: skip
    PaymentFileItem.objects.filter(file=file).update(active=False)  # inactive items (a cancelled file) leave room
    PaymentFileItem.objects.create(file=other, payout=eur.payouts[0], position=1, amount_minor=1, end_to_end_id="x",
                                   remittance="x", payee_name="x", account="x")  # fmt: skip


def test_exporting_the_same_payouts_again_is_refused_naming_the_file(eur):
    file = make(eur)
    with pytest.raises(pf.AlreadyInFile) as caught:
        make(eur, eur.payouts[1:])
    assert f"already in payment file {file.message_id} (#{file.pk}, created" in str(caught.value)
    assert PaymentFile.objects.count() == 1


def test_cancelling_a_created_file_frees_its_payouts(eur):
    file = make(eur)
    pf.payment_file_cancel(actor=ACTOR, file=file, reason="wrong execution date")
    file.refresh_from_db()
    assert file.status == "cancelled" and not file.items.filter(active=True).exists()
    again = make(eur)
    assert again.pk != file.pk and again.message_id != file.message_id
    event = AuditEvent.objects.get(action="payment_file.cancelled")
    assert event.data["payouts"] == [p.pk for p in eur.payouts] and event.data["reason"] == "wrong execution date"
    with pytest.raises(pf.DomainError, match="say why"):
        pf.payment_file_cancel(actor=ACTOR, file=again, reason=" ")


def test_marking_sent_pays_each_payout_on_that_day_with_the_file_as_reference(eur):
    file = make(eur)
    done = pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=SENT_ON)
    assert not done.already and done.paid == [p.pk for p in eur.payouts]
    file.refresh_from_db()
    assert (file.status, file.sent_on, file.sent_by) == ("sent", SENT_ON, ACTOR)
    for payout in Payout.objects.filter(pk__in=done.paid):
        assert (payout.status, payout.paid_on, payout.paid_reference) == ("paid", SENT_ON, file.message_id)
    sent = AuditEvent.objects.get(action="payment_file.sent", object_id=str(file.pk))
    assert sent.data["sent_on"] == "2026-12-09" and sent.data["payouts"] == done.paid
    assert AuditEvent.objects.filter(action="payout.paid").count() == 3  # each payout's own transition, audited
    with pytest.raises(StateError, match="was sent on 2026-12-09"):
        pf.payment_file_cancel(actor=ACTOR, file=file, reason="too late")


def test_marking_sent_twice_pays_once(eur):
    file = make(eur)
    pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=SENT_ON)
    again = pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=date(2026, 12, 10))
    assert again.already and again.paid == [] and again.file.sent_on == SENT_ON
    assert AuditEvent.objects.filter(action="payout.paid").count() == 3
    assert AuditEvent.objects.filter(action="payment_file.sent").count() == 1


def test_a_cancelled_file_cannot_be_sent(eur):
    file = make(eur)
    pf.payment_file_cancel(actor=ACTOR, file=file, reason="no")
    with pytest.raises(StateError, match="cancelled"):
        pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=SENT_ON)


def test_a_payout_in_a_file_not_yet_sent_is_neither_paid_nor_cancelled_by_hand(eur):
    file = make(eur)
    payout = eur.payouts[1]
    for to, kw in (("paid", {}), ("cancelled", {"reason": "duplicate"})):
        with pytest.raises(StateError, match=rf"payout {payout.pk} is in payment file {file.message_id}, not yet sent"):
            payout_services.payout_transition(actor=ACTOR, payout=payout, to=to, **kw)
    payout.refresh_from_db()
    assert payout.status == "ready" and not AuditEvent.objects.filter(action__in=["payout.paid", "payout.cancelled"])
    pf.payment_file_cancel(actor=ACTOR, file=file, reason="made by mistake")  # a freed payout moves again
    payout_services.payout_transition(actor=ACTOR, payout=payout, to="paid", reference="wire 991")
    assert Payout.objects.get(pk=payout.pk).status == "paid"


def test_a_sent_file_no_longer_holds_its_payouts(eur):
    file = make(eur, eur.payouts[:1])
    pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=SENT_ON)
    with pytest.raises(StateError, match="the payout is paid; that is final"):  # the lifecycle, not the file
        payout_services.payout_transition(actor=ACTOR, payout=eur.payouts[0], to="cancelled", reason="late")


def test_a_payout_the_payouts_service_refuses_is_named_and_nothing_is_paid(eur):
    file = make(eur)
    # a supplier's dispute sends the payout back for review without the payouts transition
    Payout.objects.filter(pk=eur.payouts[1].pk).update(status="pending")
    with pytest.raises(pf.PaymentRefused) as caught:
        pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=SENT_ON)
    (problem,) = caught.value.problems
    assert (problem.payout, problem.partner) == (eur.payouts[1].pk, "sup1")
    assert "pending" in problem.message
    assert set(Payout.objects.filter(pk__in=[p.pk for p in eur.payouts]).values_list("status", flat=True)) == {
        "ready", "pending"}  # fmt: skip
    file.refresh_from_db()
    assert file.status == "created" and not AuditEvent.objects.filter(action="payment_file.sent").exists()


def test_a_payout_whose_total_is_no_longer_what_the_file_pays_is_refused_and_nothing_is_paid(eur):
    file = make(eur)
    # tax added to the payout after the file was made (the file pays 250.55, the bank moves no more)
    Payout.objects.filter(pk=eur.payouts[1].pk).update(tax_minor=4_760, total_minor=29_815)
    with pytest.raises(pf.PaymentRefused) as caught:
        pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=SENT_ON)
    (problem,) = caught.value.problems
    assert (problem.payout, problem.partner, problem.field) == (eur.payouts[1].pk, "sup1", "total")
    assert problem.message == (
        "the file pays 250.55 EUR but the payout now totals 298.15 EUR: cancel the file and make a new one"
    )
    assert set(Payout.objects.filter(pk__in=[p.pk for p in eur.payouts]).values_list("status", flat=True)) == {"ready"}
    file.refresh_from_db()
    assert file.status == "created" and not AuditEvent.objects.filter(action="payment_file.sent").exists()


def test_a_rule_of_the_payout_transition_is_honoured(eur, monkeypatch):
    """Whatever the payouts service refuses (say, a self-invoice the supplier has not accepted), is refused here."""
    original = payout_services.payout_transition
    refused = eur.payouts[2].pk

    def transition(**kw):
        if kw["payout"].pk == refused and kw["to"] == "paid":
            raise StateError("the self-invoice is not accepted yet, and the entity pays only accepted ones")
        return original(**kw)

    monkeypatch.setattr(pf, "payout_transition", transition)
    file = make(eur)
    with pytest.raises(pf.PaymentRefused, match=r"payout \d+ \(sup2\) status: the self-invoice is not accepted"):
        pf.payment_file_mark_sent(actor=ACTOR, file=file, sent_on=SENT_ON)
    assert not Payout.objects.filter(status="paid").exists()  # the two it allowed were rolled back too
