"""Credit on account in the set-up file: `automatic` or `manual`; left out, the console's choice stays."""

from __future__ import annotations

import pytest

from leadbill.entities.models import Entity
from leadbill.entities.services import entity_details_set
from leadbill.loader.schema import SetupFileError, parse_document
from leadbill.loader.services import setup_load, setup_read
from tests.loader.helpers import minimal

ACTOR = "test:loader"


def columns(extra: str = ""):
    return parse_document(minimal(entity_extra=extra)).entities[0].columns()


def test_the_mode_is_read_and_left_out_it_is_not_a_column():
    assert columns("    credit_on_account: manual")["credit_on_account"] == "manual"
    assert columns("    credit_on_account: automatic")["credit_on_account"] == "automatic"
    assert "credit_on_account" not in columns()


def test_a_mode_other_than_automatic_or_manual_is_named_by_path():
    with pytest.raises(SetupFileError) as info:
        parse_document(minimal(entity_extra="    credit_on_account: sometimes"))
    assert [str(p) for p in info.value.problems] == [
        "entities[0].credit_on_account: one of automatic, manual; got 'sometimes'"
    ]


@pytest.mark.django_db
def test_loading_sets_the_mode_and_a_file_without_the_key_keeps_the_consoles_choice():
    setup_load(actor=ACTOR, document=setup_read(minimal(entity_extra="    credit_on_account: manual")))
    entity = Entity.objects.get(slug="unit")
    assert entity.credit_on_account == "manual"
    entity_details_set(actor="user:admin", entity=entity, details={"credit_on_account": "automatic"})
    setup_load(actor=ACTOR, document=setup_read(minimal()))
    assert Entity.objects.get(slug="unit").credit_on_account == "automatic"
