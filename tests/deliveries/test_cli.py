"""The `leadbill import` and `leadbill returns` commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from leadbill.cli.main import main
from leadbill.deliveries.models import Delivery, Return, ReturnStatus
from leadbill.deliveries.services import return_request
from tests.deliveries.conftest import HEADER
from tests.factories import make_delivery

pytestmark = pytest.mark.django_db
GOOD = "d1,buyer,web,auto,L1,2026-01-05T10:00:00Z,2.00,EUR"
NAIVE = "d2,buyer,web,auto,L2,2026-01-05 10:00,2.00,EUR"


def write(tmp_path, *lines, header=HEADER, name="deliveries.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return str(path)


def test_import_of_a_clean_file_exits_0_and_prints_counts(world, tmp_path, capsys):
    code = main(["--actor", "cli:test", "import", "deliveries", write(tmp_path, GOOD), "--entity", "acme"])

    assert code == 0
    assert capsys.readouterr().out == "deliveries.csv: 1 rows, 1 created, 0 already present, 0 bad\n"
    assert Delivery.objects.count() == 1


def test_import_with_bad_rows_keeps_the_good_ones_prints_each_error_and_exits_1(world, tmp_path, capsys):
    code = main(["import", "deliveries", write(tmp_path, GOOD, NAIVE), "--entity", "acme"])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out == [
        "deliveries.csv: 2 rows, 1 created, 0 already present, 1 bad",
        "row 3, delivered_at: no time-zone offset in '2026-01-05 10:00'",
    ]
    assert Delivery.objects.count() == 1


def test_import_all_or_nothing_with_a_bad_row_exits_2_and_writes_nothing(world, tmp_path, capsys):
    path = write(tmp_path, GOOD, NAIVE)
    code = main(["import", "deliveries", path, "--entity", "acme", "--all-or-nothing", "--json"])

    data = json.loads(capsys.readouterr().out)
    assert code == 2
    assert data["refused"] is True
    assert data["errors"] == [
        {"row": 3, "field": "delivered_at", "message": "no time-zone offset in '2026-01-05 10:00'"}
    ]
    assert not Delivery.objects.exists()


def test_import_reads_a_byte_order_mark_and_reports_a_reimport_as_already_present(world, tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER + "\n" + GOOD + "\n").encode("utf-8"))
    assert main(["import", "deliveries", str(path), "--entity", "acme"]) == 0
    assert main(["import", "deliveries", str(path), "--entity", "acme", "--json"]) == 0

    data = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert (data["created"], data["already_present"]) == (0, 1)


def test_import_of_an_unknown_entity_or_missing_file_is_a_user_error(world, tmp_path, capsys):
    assert main(["import", "deliveries", write(tmp_path, GOOD), "--entity", "nope"]) == 2
    assert main(["import", "deliveries", str(tmp_path / "missing.csv"), "--entity", "acme"]) == 2

    err = capsys.readouterr().err
    assert "no entity 'nope'" in err
    assert "cannot open" in err


def test_import_of_a_file_with_a_bad_header_is_a_user_error(world, tmp_path, capsys):
    code = main(["import", "deliveries", write(tmp_path, GOOD, header="external_id,partner"), "--entity", "acme"])

    assert code == 2
    assert "header: missing column(s): profile, lead_type" in capsys.readouterr().err


def test_import_returns_file(world, tmp_path, capsys):
    make_delivery(world.buyer, datetime(2026, 1, 5, tzinfo=UTC), external_id="d1")
    path = write(tmp_path, "d1,wrong number", header="external_id,reason", name="returns.csv")

    code = main(["import", "returns", path, "--entity", "acme"])

    assert code == 0
    assert capsys.readouterr().out == "returns.csv: 1 rows, 1 created, 0 already present, 0 decided, 0 bad\n"
    assert Return.objects.get().status == ReturnStatus.REQUESTED


def requested(world, n):
    return [
        return_request(
            actor="test",
            delivery=make_delivery(world.buyer, datetime(2026, 1, 5, tzinfo=UTC)),
            reason="wrong number",
            requested_at=datetime(2026, 1, 6, tzinfo=UTC),
        )
        for _ in range(n)
    ]


def test_returns_list_shows_the_pending_returns_as_json(world, capsys):
    a, b = requested(world, 2)
    main(["returns", "reject", str(b.pk), "--note", "fine lead"])
    capsys.readouterr()

    assert main(["returns", "list", "--entity", "acme", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["status"], r["partner"]) for r in rows] == [(a.pk, "requested", "buyer")]

    assert main(["returns", "list", "--entity", "acme", "--status", "all"]) == 0
    assert "fine" not in capsys.readouterr().out  # the table shows the reason, not the note


def test_returns_accept_decides_each_and_exits_1_if_one_was_not_requested(world, capsys):
    a, b = requested(world, 2)
    assert main(["--actor", "cli:alice", "returns", "accept", str(a.pk)]) == 0
    capsys.readouterr()

    code = main(["returns", "accept", str(a.pk), str(b.pk), "--note", "ok"])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert f"return {b.pk} ({b.delivery.external_id}) accepted" in out
    assert any(f"return {a.pk} is accepted; only a requested return can be accepted" in line for line in out)
    a.refresh_from_db()
    assert a.decided_by == "cli:alice"


def test_returns_reject_needs_a_note_and_unknown_ids_are_refused(world, capsys):
    (a,) = requested(world, 1)

    with pytest.raises(SystemExit):
        main(["returns", "reject", str(a.pk)])
    assert main(["returns", "reject", str(a.pk), "999999", "--note", "fine"]) == 2
    assert "no return 999999" in capsys.readouterr().err
    a.refresh_from_db()
    assert a.status == ReturnStatus.REQUESTED
