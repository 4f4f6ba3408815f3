"""`leadbill invoices manual`: typed lines for one partner and period, a draft or issued now."""

import json

import pytest

from leadbill.cli.main import main
from leadbill.invoicing.models import Invoice
from tests.factories import make_entity, make_partner

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def partner():
    entity = make_entity(slug="acme", timezone="UTC", currency="USD", invoice_prefix="A-", credit_note_prefix="A-CN-",
                         default_tax_rate_bp=800)  # fmt: skip
    return make_partner(entity, code="blue", currency="USD")


def test_a_manual_invoice_is_issued_with_its_lines_and_the_partners_rate_by_default(partner, capsys):
    code = main(["invoices", "manual", "blue", "--period", "2026-01", "--line", "Set-up fee;1;250.00",
                 "--line", "Brochures;3;10.10;0", "--issue", "--issue-date", "2026-02-01", "--json"])  # fmt: skip
    inv = json.loads(capsys.readouterr().out)
    assert code == 0 and inv["number"] == "A-000001" and inv["manual"] is True
    assert [(line["amount"], line["tax_rate"]) for line in inv["lines"]] == [("250.00", "8"), ("30.30", "0")]
    assert (inv["tax"], inv["total"]) == ("20.00", "300.30")


def test_a_bad_line_is_named_and_nothing_is_written(partner, capsys):
    assert main(["invoices", "manual", "blue", "--period", "2026-01", "--line", "Fee;none;1"]) == 2
    assert "--line 1: quantity 'none'" in capsys.readouterr().err
    assert main(["invoices", "manual", "blue", "--period", "2026-01", "--line", "Fee;1;-5"]) == 2
    assert "lines[0].unit_price" in capsys.readouterr().err
    assert main(["invoices", "manual", "blue", "--period", "2026-01", "--line", "Fee;1;5"]) == 0
    assert "saved as draft-" in capsys.readouterr().out
    assert Invoice.objects.get().status == "draft"
