"""`leadbill payouts` and `leadbill self-billing` end to end, with --json for tools."""

import json

import pytest

from leadbill.cli.main import main
from leadbill.payouts.models import Payout
from leadbill.selfbilling.models import SelfBilledDocument
from tests.payouts.conftest import COMPLETE, MAIN, world  # noqa: F401

pytestmark = pytest.mark.django_db


def run_json(capsys, *args):
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_compute_submit_ready_and_write_the_self_invoice(world, capsys, tmp_path):  # noqa: F811
    from leadbill.selfbilling import services as sbs

    assert main(["self-billing", "on", "--entity", "nordlicht"]) == 0
    assert "self-billing is on for nordlicht" in capsys.readouterr().out
    world.supplier.refresh_from_db()
    sbs.seller_details_set(actor="test", partner=world.supplier, details=COMPLETE, tax_rate="19")
    sbs.self_billing_opt_in(actor="test", partner=world.supplier, signer=MAIN, accepted=True)
    code, data = run_json(capsys, "payouts", "compute", "--entity", "nordlicht", "--period", "2026-10")
    assert code == 0 and len(data["created"]) == 1 and data["empty"] == []
    pk = str(data["created"][0])
    assert run_json(capsys, "payouts", "submit", pk)[1]["status"] == "pending"
    # Pending: the text list shows the figures the console and the API show, the tax marked as estimated.
    assert main(["payouts", "list", "--entity", "nordlicht"]) == 0
    listed = capsys.readouterr().out
    assert "157.68 EUR*" in listed and "tax estimated until the self-invoice is issued" in listed
    code, ready = run_json(capsys, "payouts", "ready", pk)
    assert (ready["status"], ready["net"], ready["tax"], ready["total"]) == ("ready", "132.50", "25.18", "157.68")
    assert [d["number"] for d in ready["documents"]] == ["SB-LEAD-GARDEN-000001"]
    target = tmp_path / "sb.xml"
    assert main(["payouts", "document", "SB-LEAD-GARDEN-000001", "--format", "ubl", "-o", str(target)]) == 0
    capsys.readouterr()
    assert b"<cbc:InvoiceTypeCode>389</cbc:InvoiceTypeCode>" in target.read_bytes()
    code, shown = run_json(capsys, "self-billing", "show", "--entity", "nordlicht")
    assert shown["enabled"] is True and shown["partners"]["lead-garden"]["opted_in"] is True


def test_manual_payout_lines_and_their_errors(world, capsys):  # noqa: F811
    code, data = run_json(capsys, "payouts", "create", "--entity", "nordlicht", "--partner", "lead-garden",
                          "--period", "2026-10", "--line", "October commission;1;250.00",
                          "--line", "Bonus;3;12.5")  # fmt: skip
    assert code == 0 and data["net"] == "287.50" and data["origin"] == "manual"
    assert main(["payouts", "create", "--entity", "nordlicht", "--partner", "lead-garden", "--period", "2026-11",
                 "--line", "Bonus;three;1"]) == 2  # fmt: skip
    assert "--line 1: quantity is a whole number" in capsys.readouterr().err
    assert main(["payouts", "cancel", str(data["id"])]) == 2  # a reason is required
    assert "say why the payout is cancelled" in capsys.readouterr().err
    assert Payout.objects.get(pk=data["id"]).status == "draft" and not SelfBilledDocument.objects.exists()
