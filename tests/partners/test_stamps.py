"""Billing stamps (`partners.stamps`): which token each committed write replaces, and when."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from leadbill.audit.services import audit_record
from leadbill.catalog.models import PricePlan
from leadbill.partners import stamps
from leadbill.partners.models import BillingStamp
from tests.factories import make_delivery, make_entity, make_partner, make_plan

pytestmark = pytest.mark.django_db(transaction=True)  # tokens are written after a real commit

ACTOR = "test:stamps"


def stamped(entity):
    return dict(BillingStamp.objects.filter(entity_id=entity.pk).values_list("partner_id", "token"))


def write(action, obj, entity):
    with transaction.atomic():
        audit_record(actor=ACTOR, action=action, obj=obj, entity=entity)


def test_an_audited_write_on_a_partners_object_replaces_that_partners_token():
    entity = make_entity()
    buyer, other = make_partner(entity), make_partner(entity)
    delivery = make_delivery(buyer, datetime(2026, 1, 5, tzinfo=UTC))
    write("delivery.recorded", delivery, entity)
    first = stamped(entity)
    assert set(first) == {buyer.pk}
    write("partner.changed", buyer, entity)
    assert stamped(entity)[buyer.pk] != first[buyer.pk]
    assert other.pk not in stamped(entity)


def test_an_audited_write_naming_no_partner_replaces_the_entitys_token():
    entity = make_entity()
    write("entity.details_changed", entity, entity)
    assert set(stamped(entity)) == {stamps.WHOLE_ENTITY}


def test_an_import_leaves_its_partners_to_the_summary():
    entity = make_entity()
    write("deliveries.imported", entity, entity)
    assert stamped(entity) == {}


def test_a_price_plan_changes_the_whole_entity():
    """The preview groups by the scopes plans exist at anywhere in the entity, so one partner's plan
    can change how another's leads are read."""
    entity = make_entity()
    plan = make_plan(make_partner(entity))
    assert isinstance(plan, PricePlan)
    write("price_plan.changed", plan, entity)
    assert set(stamped(entity)) == {stamps.WHOLE_ENTITY}


def test_a_return_names_its_partner_through_the_delivery_it_holds():
    entity = make_entity()
    buyer = make_partner(entity)
    delivery = make_delivery(buyer, datetime(2026, 1, 5, tzinfo=UTC))

    class Return:
        def __init__(self):
            self.delivery = delivery
            self._state = type("State", (), {"fields_cache": {"delivery": delivery}})()

    assert stamps.partner_of(Return()) == buyer.pk
    assert stamps.partner_of(object()) is None


def test_tokens_are_written_after_commit_and_not_at_all_after_a_rollback():
    entity = make_entity()
    buyer, other = make_partner(entity), make_partner(entity)
    with transaction.atomic():
        stamps.changed(entity.pk, [buyer.pk])
        assert stamped(entity) == {}  # not inside the write's transaction
    assert set(stamped(entity)) == {buyer.pk}  # once it commits
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 (the write, then its failure)
        stamps.changed(entity.pk, [other.pk])
        raise RuntimeError("the write failed")
    third = make_partner(entity)
    with transaction.atomic():  # the thread's next transaction does not write what the failed one left pending
        stamps.changed(entity.pk, [third.pk])
    assert set(stamped(entity)) == {buyer.pk, third.pk}


def test_one_flush_gives_every_pending_partner_one_new_token():
    entity = make_entity()
    partners = [make_partner(entity) for _ in range(3)]
    with transaction.atomic():
        stamps.changed(entity.pk, [p.pk for p in partners[:2]])
        stamps.changed(entity.pk, [partners[2].pk])
    tokens = stamped(entity)
    assert set(tokens) == {p.pk for p in partners} and len(set(tokens.values())) == 1
    per_partner, (entity_token, every_token) = stamps.tokens(entity.pk)
    assert per_partner == tokens and entity_token == every_token == 0
    with transaction.atomic():
        stamps.changed_entity(None)
    assert stamps.tokens(entity.pk)[1][1] != 0  # a change to every entity reaches this one too


def test_a_transaction_registers_one_flush_however_many_writes_it_makes():
    """Django's savepoint rollback scans every callback: one per write made a file of refused rows quadratic."""
    entity = make_entity()
    partners = [make_partner(entity) for _ in range(3)]
    with transaction.atomic():
        for partner in partners * 10:
            stamps.changed(entity.pk, [partner.pk])
        callbacks = [func for _, func, _ in transaction.get_connection().run_on_commit]
        assert len(callbacks) == 1 and isinstance(callbacks[0], stamps._Flush)
    assert set(stamped(entity)) == {p.pk for p in partners}


def test_after_a_rolled_back_savepoint_took_the_flush_the_next_write_registers_it_again():
    entity = make_entity()
    refused, kept_row = make_partner(entity), make_partner(entity)
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 (the write, then its failure)
            stamps.changed(entity.pk, [refused.pk])
            raise RuntimeError("row refused")
        assert transaction.get_connection().run_on_commit == []  # the rollback took the flush with it
        stamps.changed(entity.pk, [kept_row.pk])
    assert kept_row.pk in stamped(entity)


def test_a_transaction_inside_another_ones_commit_callbacks_neither_takes_nor_drops_its_partners():
    """An inline task (run by an earlier on-commit callback) writes in a transaction of its own while
    the first transaction's callbacks are still running."""
    entity = make_entity()
    first, in_task = make_partner(entity), make_partner(entity)

    def inline_task():
        with transaction.atomic():
            stamps.changed(entity.pk, [in_task.pk])

    with transaction.atomic():
        transaction.on_commit(inline_task)  # registered before the first write's callback
        stamps.changed(entity.pk, [first.pk])
    assert set(stamped(entity)) == {first.pk, in_task.pk}
