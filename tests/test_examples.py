"""The shipped examples work together: set-up file, deliveries, returns, a month billed."""

from pathlib import Path

import pytest

from leadbill.cli.main import main
from leadbill.invoicing.models import Invoice

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.django_db
def test_the_examples_bill_march_2026(capsys):
    assert main(["load", str(EXAMPLES / "setup.yaml")]) == 0
    assert main(["import", "deliveries", str(EXAMPLES / "deliveries.csv"), "--entity", "acme-us"]) == 0
    assert main(["import", "returns", str(EXAMPLES / "returns.csv"), "--entity", "acme-us"]) == 0
    assert main(["topup", "lakeside-direct", "100.00", "--at", "2026-03-01T09:00:00-05:00", "--entity", "acme-us"]) == 0
    assert main(["run", "issue", "--entity", "acme-us", "--period", "2026-03", "--issue-date", "2026-04-01"]) == 0
    capsys.readouterr()
    bill = Invoice.objects.get(number="ACME-000001")
    receipt = Invoice.objects.get(number="ACME-000002")
    assert (bill.partner.code, bill.leads_billed, bill.leads_returned) == ("blue-river", 11, 1)
    assert (receipt.kind, receipt.opening_balance_minor, receipt.topups_minor) == ("receipt", 0, 10000)
    assert receipt.closing_balance_minor == 10000 - receipt.total_minor
