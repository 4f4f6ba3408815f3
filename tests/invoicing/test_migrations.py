"""The once-per-period constraint widened to a run's credit note (0010): a database that billed a period twice
under the old constraint is told which partners and periods, instead of failing on the index."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from leadbill.domain import periods
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import adjustment_create, invoice_run_issue
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_period_billed_twice_before_the_wider_constraint_is_named_and_migrates_once_resolved():
    entity = make_entity(timezone="UTC", currency="USD")
    partner = make_partner(entity, code="twice", currency="USD")
    make_plan(partner, "flat", {"price": "2.00"})
    make_deliveries(partner, 2, datetime(2026, 1, 5, tzinfo=UTC))
    adjustment_create(actor="test", partner=partner, amount_minor=-5000, reason="goodwill")
    invoice_run_issue(actor="test", entity=entity, period=periods.month(2026, 1, "UTC"))
    note = Invoice.objects.get(partner=partner)
    assert note.kind == "credit_note"

    call_command("migrate", "invoicing", "0009", verbosity=0)  # the old constraint: invoices and receipts only
    second = Invoice.objects.create(
        entity=entity, partner=partner, kind="invoice", status="draft", series="invoice", currency="USD",
        period_key=note.period_key, period_start=note.period_start, period_end=note.period_end,
    )  # fmt: skip
    with pytest.raises(RuntimeError, match=r"twice 2026-01\. Void the later one"):
        call_command("migrate", "invoicing", verbosity=0)
    Invoice.objects.filter(pk=second.pk).delete()  # the draft discarded
    call_command("migrate", "invoicing", verbosity=0)
