"""Billing stamps (`partners.stamps`): which token each committed write replaces, and when."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadbill.audit.services import audit_record
from leadbill.catalog.models import PricePlan
from leadbill.partners import stamps
from leadbill.partners.models import BillingStamp
from tests.factories import make_delivery, make_entity, make_partner, make_plan

pytestmark = pytest.mark.django_db

ACTOR = "test:stamps"


def stamped(entity):
    return dict(BillingStamp.objects.filter(entity_id=entity.pk).values_list("partner_id", "token"))


def write(django_capture_on_commit_callbacks, action, obj, entity):
    with django_capture_on_commit_callbacks(execute=True):
        audit_record(actor=ACTOR, action=action, obj=obj, entity=entity)


def test_an_audited_write_on_a_partners_object_replaces_that_partners_token(django_capture_on_commit_callbacks):
    entity = make_entity()
    buyer, other = make_partner(entity), make_partner(entity)
    delivery = make_delivery(buyer, datetime(2026, 1, 5, tzinfo=UTC))
    write(django_capture_on_commit_callbacks, "delivery.recorded", delivery, entity)
    first = stamped(entity)
    assert set(first) == {buyer.pk}
    write(django_capture_on_commit_callbacks, "partner.changed", buyer, entity)
    assert stamped(entity)[buyer.pk] != first[buyer.pk]
    assert other.pk not in stamped(entity)


def test_an_audited_write_naming_no_partner_replaces_the_entitys_token(django_capture_on_commit_callbacks):
    entity = make_entity()
    write(django_capture_on_commit_callbacks, "entity.details_changed", entity, entity)
    assert set(stamped(entity)) == {stamps.WHOLE_ENTITY}


def test_an_import_leaves_its_partners_to_the_summary(django_capture_on_commit_callbacks):
    entity = make_entity()
    write(django_capture_on_commit_callbacks, "deliveries.imported", entity, entity)
    assert stamped(entity) == {}


def test_a_price_plan_changes_the_whole_entity(django_capture_on_commit_callbacks):
    """The preview groups by the scopes plans exist at anywhere in the entity, so one partner's plan
    can change how another's leads are read."""
    entity = make_entity()
    plan = make_plan(make_partner(entity))
    assert isinstance(plan, PricePlan)
    write(django_capture_on_commit_callbacks, "price_plan.changed", plan, entity)
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


def test_tokens_are_written_after_commit_and_not_at_all_after_a_rollback(django_capture_on_commit_callbacks):
    entity = make_entity()
    buyer = make_partner(entity)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stamps.changed(entity.pk, [buyer.pk])
        assert stamped(entity) == {}  # not inside the write's transaction
    assert callbacks  # once it commits
    stamps.forget_pending()  # as if the transaction had rolled back: nothing pending is written by the next
    with django_capture_on_commit_callbacks(execute=True):
        stamps.changed(entity.pk, [])
    assert stamped(entity) == {}


def test_one_flush_gives_every_pending_partner_one_new_token(django_capture_on_commit_callbacks):
    entity = make_entity()
    partners = [make_partner(entity) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        stamps.changed(entity.pk, [p.pk for p in partners[:2]])
        stamps.changed(entity.pk, [partners[2].pk])
    tokens = stamped(entity)
    assert set(tokens) == {p.pk for p in partners} and len(set(tokens.values())) == 1
    per_partner, (entity_token, every_token) = stamps.tokens(entity.pk)
    assert per_partner == tokens and entity_token == every_token == 0
    with django_capture_on_commit_callbacks(execute=True):
        stamps.changed_entity(None)
    assert stamps.tokens(entity.pk)[1][1] != 0  # a change to every entity reaches this one too
