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


@pytest.mark.django_db
def test_a_file_that_switches_to_automatic_spends_credit_on_account_at_once():
    from datetime import UTC, date, datetime

    from leadbill.domain import periods
    from leadbill.invoicing.models import Invoice
    from leadbill.invoicing.services import invoice_run_issue, payment_record
    from leadbill.receivables.selectors import credit_on_account
    from tests.factories import make_deliveries, make_partner, make_plan

    setup_load(actor=ACTOR, document=setup_read(minimal(entity_extra="    credit_on_account: manual")))
    entity = Entity.objects.get(slug="unit")
    buyer = make_partner(entity, code="credit-buyer", currency=entity.currency)
    make_plan(buyer, "flat", {"price": "2.00"})
    for month in (1, 2):
        make_deliveries(buyer, 5, datetime(2026, month, 2, tzinfo=UTC))
        invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, month, entity.timezone),
                          partners=[buyer.code])  # fmt: skip
    first, second = Invoice.objects.filter(partner=buyer).order_by("sequence")
    payment_record(actor=ACTOR, invoice=first, amount_minor=1300, paid_on=date(2026, 3, 5))  # 3.00 on account
    assert credit_on_account(buyer, entity.currency) == 300

    setup_load(actor=ACTOR, document=setup_read(minimal(entity_extra="    credit_on_account: automatic")))

    assert credit_on_account(buyer, entity.currency) == 0
    assert Invoice.objects.get(pk=second.pk).balance_due_minor == 700
