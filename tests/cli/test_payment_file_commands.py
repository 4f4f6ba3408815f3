"""`leadbill payment-file ...` end to end: make, list, show, download, sent, cancel, ACH settings, sheet."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from leadbill.cli.main import main
from leadbill.payment_files.builders import nacha
from leadbill.payouts.models import Payout
from tests.payment_files.conftest import ACH, eur, usd  # noqa: F401 (fixtures)


def run_json(capsys, *args):
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_sepa_file_from_every_ready_payout_then_sent(eur, capsys, tmp_path):  # noqa: F811
    code, made = run_json(capsys, "payment-file", "make", "--entity", "nordlicht", "--kind", "sepa",
                          "--execution-date", "2030-01-02", "-o", str(tmp_path))  # fmt: skip
    assert code == 0 and made["count"] == 3 and made["total"] == "350.56"
    written = tmp_path / made["name"]
    assert written.read_bytes().startswith(b"<?xml")
    assert main(["payment-file", "download", str(made["id"]), "-o", str(tmp_path / "again.xml")]) == 0
    assert (tmp_path / "again.xml").read_bytes() == written.read_bytes()
    assert main(["payment-file", "make", "--entity", "nordlicht", "--kind", "sepa"]) == 2
    assert f"already in payment file {made['message_id']}" in capsys.readouterr().err
    code, sent = run_json(capsys, "payment-file", "sent", str(made["id"]), "--on", "2030-01-03")
    assert code == 0 and sent["paid"] == [p.pk for p in eur.payouts] and sent["sent_on"] == "2030-01-03"
    assert set(Payout.objects.filter(pk__in=sent["paid"]).values_list("status", flat=True)) == {"paid"}
    code, listed = run_json(capsys, "payment-file", "list", "--entity", "nordlicht")
    assert [f["status"] for f in listed] == ["sent"]
    code, shown = run_json(capsys, "payment-file", "show", str(made["id"]))
    assert [i["payout_status"] for i in shown["items"]] == ["paid"] * 3


def test_cancel_needs_a_reason_and_frees_the_payouts(eur, capsys):  # noqa: F811
    code, made = run_json(capsys, "payment-file", "make", "--entity", "nordlicht", "--kind", "sepa",
                          "--payout", str(eur.payouts[0].pk))  # fmt: skip
    assert main(["payment-file", "cancel", str(made["id"]), "--reason", "wrong"]) == 0
    assert "is cancelled; its payouts are free" in capsys.readouterr().out
    code, again = run_json(capsys, "payment-file", "make", "--entity", "nordlicht", "--kind", "sepa",
                           "--payout", str(eur.payouts[0].pk))  # fmt: skip
    assert code == 0 and again["id"] != made["id"]


def test_ach_settings_then_a_nacha_file(usd, capsys, tmp_path):  # noqa: F811
    _, shown = run_json(capsys, "payment-file", "ach-settings", "--entity", "hudson")
    assert shown["ach"]["odfi_routing"] == ACH["odfi_routing"]
    assert main(["payment-file", "ach-settings", "--entity", "hudson", "--odfi-routing", "12345678"]) == 2
    assert "odfi_routing: not a valid ABA routing number" in capsys.readouterr().err
    target = tmp_path / "out.ach"
    assert main(["payment-file", "make", "--entity", "hudson", "--kind", "nacha", "-o", str(target)]) == 0
    lines = target.read_text().splitlines()
    assert all(len(line) == 94 for line in lines) and nacha.totals(lines).credit_minor == 133455


def test_the_sheet_command_writes_xlsx_and_csv(eur, capsys, tmp_path):  # noqa: F811
    assert main(["payment-file", "sheet", "--entity", "nordlicht", "--status", "ready", "-o",
                 str(tmp_path / "p.xlsx")]) == 0  # fmt: skip
    book = load_workbook(tmp_path / "p.xlsx")
    assert len(list(book["Payouts"].iter_rows(min_row=2))) == 3
    assert main(["payment-file", "sheet", "--entity", "nordlicht", "--format", "csv", "--from", "2026-10-01",
                 "--to", "2026-10-31", "-o", str(tmp_path / "p.csv")]) == 0  # fmt: skip
    rows = list(csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text())))
    assert len(rows) == 3 and {r["period"] for r in rows} == {"2026-10"}


@pytest.mark.parametrize("kind", ["nacha", "bank-csv"])
def test_no_ready_usd_payouts_is_said(eur, capsys, kind):  # noqa: F811
    assert main(["payment-file", "make", "--entity", "nordlicht", "--kind", kind]) == 2
    assert "no ready payouts in USD" in capsys.readouterr().err
