"""`leadbill run preview|issue|release`: held documents named, released with a reason, then issued."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.cli.main import main
from leadbill.domain import periods
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import invoice_run_issue
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def typo():
    """January at 2.50, then a plan from February typed as 250."""
    entity = make_entity(slug="acme", timezone="UTC", currency="USD", invoice_prefix="A-", credit_note_prefix="A-CN-")
    partner = make_partner(entity, code="blue", currency="USD")
    make_plan(partner, "flat", {"price": "2.50"}, effective_from=datetime(2026, 1, 1, tzinfo=UTC))
    make_deliveries(partner, 4, datetime(2026, 1, 5, tzinfo=UTC))
    invoice_run_issue(actor="test", entity=entity, period=periods.month(2026, 1, "UTC"))
    make_plan(partner, "flat", {"price": "250"}, effective_from=datetime(2026, 2, 1, tzinfo=UTC))
    make_deliveries(partner, 4, datetime(2026, 2, 5, tzinfo=UTC))
    return entity, partner


def test_held_then_released_then_issued_from_the_cli(typo, capsys):
    assert main(["run", "preview", "--entity", "acme", "--period", "2026-02"]) == 0
    out = capsys.readouterr().out
    assert "Held blue: unit price 250.00" in " ".join(out.split()) and "Nothing to issue" in out
    assert main(["run", "issue", "--entity", "acme", "--period", "2026-02"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Held blue (not issued): unit price 250.00" in out and "leadbill run release --period 2026-02" in out
    assert (
        main(["run", "release", "--entity", "acme", "--period", "2026-02", "--partner", "blue", "--reason", " "]) == 2
    )
    assert "not released" in capsys.readouterr().err
    code = main(["--actor", "cli:ana", "run", "release", "--entity", "acme", "--period", "2026-02", "--partner", "blue",
                 "--reason", "new premium price", "--json"])  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and (data["total"], data["released_by"]) == ("1000.00", "cli:ana")
    assert AuditEvent.objects.filter(action="safety_bounds.released", actor="cli:ana").count() == 1
    assert main(["run", "issue", "--entity", "acme", "--period", "2026-02"]) == 0
    assert Invoice.objects.get(period_key="2026-02").total_minor == 100_000
