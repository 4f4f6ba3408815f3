"""The billing commands end to end: preview, issue, show, pay, void, with --json for tools."""

import json
from datetime import UTC, datetime

import pytest

from leadbill.cli.main import main
from leadbill.invoicing.models import Invoice
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def billed_setup():
    entity = make_entity(slug="acme", timezone="UTC", currency="USD", invoice_prefix="A-", credit_note_prefix="A-CN-")
    partner = make_partner(entity, code="blue", currency="USD", payment_terms_days=10)
    make_plan(partner, "flat", {"price": "2.50"})
    make_deliveries(partner, 4, datetime(2026, 1, 5, tzinfo=UTC))
    return entity, partner


def run_json(capsys, *args):
    code = main([*args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_preview_json_lists_the_partner_summary_and_writes_nothing(billed_setup, capsys):
    code, data = run_json(capsys, "run", "preview", "--entity", "acme", "--period", "2026-01")
    assert code == 0
    (p,) = data["partners"]
    assert (p["partner"], p["delivered"], p["billable"], p["total"], p["document"]) == (
        "blue",
        4,
        4,
        "10.00",
        "invoice",
    )
    assert Invoice.objects.count() == 0


def test_issue_then_show_then_pay_then_void(billed_setup, capsys):
    code, run = run_json(
        capsys, "run", "issue", "--entity", "acme", "--period", "2026-01", "--issue-date", "2026-02-01"
    )
    assert code == 0 and run["issued"] == ["A-000001"] and run["failures"] == {}
    code, inv = run_json(capsys, "invoices", "show", "A-000001")
    assert (inv["total"], inv["due_date"], inv["leads_purchased"], inv["buyer"]["name"]) == (
        "10.00", "2026-02-11", 4, billed_setup[1].name,
    )  # fmt: skip
    assert inv["lines"][0]["unit_price"] == "2.50"
    assert main(["invoices", "pay", "A-000001", "4.00", "--on", "2026-02-05", "--reference", "wire 1"]) == 0
    capsys.readouterr()
    _, inv = run_json(capsys, "invoices", "show", "A-000001")
    assert (inv["status"], inv["paid"], inv["balance_due"]) == ("partially_paid", "4.00", "6.00")
    assert main(["invoices", "void", "A-000001", "--reason", "duplicate", "--leads", "rebill"]) == 2  # has a payment
    assert "payments recorded" in capsys.readouterr().err
    code, run2 = run_json(capsys, "run", "show", str(run["id"]))
    assert run2["issued"] == ["A-000001"]


def test_unknown_partner_and_bad_period_are_clear_errors(billed_setup, capsys):
    assert main(["run", "preview", "--entity", "acme", "--period", "2026-13"]) == 2
    assert "month 13" in capsys.readouterr().err
    assert main(["run", "preview", "--entity", "acme", "--partner", "nobody"]) == 2
    assert "unknown partner 'nobody'" in capsys.readouterr().err
    assert main(["invoices", "pay", "A-404", "1.00"]) == 2
    assert "no document numbered" in capsys.readouterr().err


def test_amounts_finer_than_the_currency_are_refused(billed_setup, capsys):
    main(["run", "issue", "--entity", "acme", "--period", "2026-01"])
    capsys.readouterr()
    assert main(["invoices", "pay", "A-000001", "1.005"]) == 2
    assert "more decimals than USD allows" in capsys.readouterr().err


def test_demo_builds_data_and_bills_last_month(capsys):
    assert main(["demo", "--deliveries", "3000"]) == 0
    out = capsys.readouterr().out
    assert "Summary of last month's billing" in out
    assert Invoice.objects.filter(entity__slug="acme-us").count() >= 20
    assert main(["demo"]) == 2  # refuses to run twice without --reset


def test_draft_then_issue_from_the_cli(billed_setup, capsys):
    assert main(["run", "issue", "--entity", "acme", "--period", "2026-01", "--draft"]) == 0
    capsys.readouterr()
    _, drafts = run_json(capsys, "invoices", "list", "--entity", "acme", "--status", "draft")
    (draft,) = drafts
    assert draft["number"] is None and draft["reference"].startswith("draft-")
    assert main(["invoices", "issue", draft["reference"], "--issue-date", "2026-02-02"]) == 0
    assert "Issued A-000001" in capsys.readouterr().out
    assert main(["invoices", "discard", draft["reference"]]) == 2  # it is no longer a draft
