"""`leadbill receivables …` through the real command."""

from __future__ import annotations

import json
from datetime import date

import pytest

from leadbill.cli.main import main
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import payment_record
from tests.receivables.test_ledger import january

pytestmark = pytest.mark.django_db


def test_account_aging_statement_apply_refund_reverse_and_write_off(entity, buyer, jan, capsys, tmp_path):
    entity.credit_on_account = "manual"
    entity.save()
    inv, _ = january(entity, buyer, jan)
    payment = payment_record(actor="t", invoice=inv, amount_minor=1300, paid_on=date(2026, 2, 5))
    capsys.readouterr()
    assert main(["receivables", "account", buyer.code, "--entity", entity.slug, "--json"]) == 0
    (account,) = json.loads(capsys.readouterr().out)
    assert (account["open"], account["credit_on_account"], account["balance"]) == ("0.00", "3.00", "-3.00")
    assert main(["receivables", "refund", buyer.code, "1.00", "--entity", entity.slug]) == 0
    assert "credit on account 2.00 USD" in " ".join(capsys.readouterr().out.split())
    assert main(["receivables", "refund", buyer.code, "5.00", "--entity", entity.slug]) == 2
    assert "less credit on account" in capsys.readouterr().err
    assert main(["receivables", "reverse-payment", inv.number, str(payment.pk), "--reason", "bounced",
                 "--entity", entity.slug]) == 0  # fmt: skip
    assert "is issued, 10.00 USD open" in capsys.readouterr().out
    assert main(["receivables", "aging", "--entity", entity.slug, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["total"] == "10.00"
    out = tmp_path / "statement.csv"
    assert main(["receivables", "statement", buyer.code, "--from", "2026-01-01", "--to", "2026-12-31",
                 "--format", "csv", "-o", str(out), "--entity", entity.slug]) == 0  # fmt: skip
    assert inv.number in out.read_text() and "Payment reversed" in out.read_text()
    assert main(["receivables", "write-off", inv.number, "--reason", "gone", "--entity", entity.slug]) == 0
    assert Invoice.objects.get(pk=inv.pk).status == "written_off"


def test_reminder_policy_and_pause_from_the_command_line(entity, buyer, capsys, tmp_path):
    steps = tmp_path / "steps.json"
    steps.write_text('[{"days": 5, "subject": "Late: $number", "body": "$open is open"}]')
    assert main(["receivables", "reminders", "--on", "--steps-file", str(steps), "--entity", entity.slug]) == 0
    out = capsys.readouterr().out
    assert "are on" in out and "5 days after due: Late: $number" in out
    steps.write_text('[{"days": 5, "subject": "Late: $nope", "body": "x"}]')
    assert main(["receivables", "reminders", "--steps-file", str(steps), "--entity", entity.slug]) == 2
    assert "unknown placeholder $nope" in capsys.readouterr().err
    assert main(["receivables", "pause", buyer.code, "--reason", "payment plan", "--entity", entity.slug]) == 0
    assert main(["receivables", "resume", buyer.code, "--entity", entity.slug]) == 0
    assert "are on" in capsys.readouterr().out
