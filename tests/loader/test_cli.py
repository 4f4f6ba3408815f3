"""`leadbill load FILE.yaml` end to end."""

from __future__ import annotations

import json

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.cli.main import main
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner
from tests.loader.helpers import BLUE_RIVER_LAST_TIER, EXAMPLE, SONNENSCHEIN_LAST_TIER, edited

pytestmark = pytest.mark.django_db


def run(*argv: str) -> int:
    return main(["--actor", "test:cli", "load", *map(str, argv)])


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "bad.yaml"
    text = edited("{up_to: null, price: 1.00}", "{up_to: null, price: -1.00}")
    path.write_text(edited("{up_to: null, price: 10.50}", "{up_to: null, price: -10.50}", text), encoding="utf-8")
    return path


def test_loading_the_example_prints_a_summary(capsys):
    assert run(EXAMPLE) == 0
    out = capsys.readouterr().out
    assert "22 created, 0 updated, 0 unchanged" in out
    assert "price_plan" in out
    assert AuditEvent.objects.filter(actor="test:cli").count() == 22


def test_loading_the_example_again_reports_nothing_changed(capsys):
    run(EXAMPLE)
    audit_rows = AuditEvent.objects.count()
    capsys.readouterr()
    assert run(EXAMPLE) == 0
    assert "0 created, 0 updated, 22 unchanged" in capsys.readouterr().out
    assert AuditEvent.objects.count() == audit_rows


def test_json_output_counts_each_kind(capsys):
    assert run(EXAMPLE, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["ok"], data["created"], data["updated"]) == (True, 22, 0)
    assert data["kinds"]["partner"] == {"created": 5, "updated": 0, "unchanged": 0}
    assert data["changes"][0] == {
        "kind": "entity",
        "key": "acme-us",
        "action": "created",
        "fields": [],
        "path": "entities[0]",
    }


def test_dry_run_writes_nothing(capsys):
    assert run(EXAMPLE, "--dry-run") == 0
    assert "dry run: 22 created" in capsys.readouterr().out
    assert not Entity.objects.exists()
    assert not AuditEvent.objects.exists()


def test_bad_file_exits_2_listing_every_problem_with_its_path(bad_file, capsys):
    assert run(bad_file) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"leadbill: error: {bad_file}: 2 problems in the set-up file, nothing was loaded",
        f"  {BLUE_RIVER_LAST_TIER}: a price cannot be negative",
        f"  {SONNENSCHEIN_LAST_TIER}: a price cannot be negative",
    ]
    assert not Partner.objects.exists()


def test_bad_file_with_json_lists_problems_on_stdout(bad_file, capsys):
    assert run(bad_file, "--json") == 2
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["problems"][0] == {"path": BLUE_RIVER_LAST_TIER, "message": "a price cannot be negative"}


def test_yaml_syntax_error_is_reported_with_line_and_column(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("entities:\n  - slug: a\n   legal_name: b\n", encoding="utf-8")
    assert run(path) == 2
    err = capsys.readouterr().err
    assert "YAML syntax error at line 3, column" in err


def test_missing_file_is_a_user_error(tmp_path, capsys):
    assert run(tmp_path / "nope.yaml") == 2
    assert "no such file" in capsys.readouterr().err
