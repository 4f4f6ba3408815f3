"""A new user's first mistakes get one line that says what to do: never a traceback, never a stray database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from leadbill.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def leadbill(*args, home=None, cwd=None, **extra_env):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LEADBILL_HOME")}
    if home is not None:
        env["LEADBILL_HOME"] = str(home)
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "leadbill", *map(str, args)],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(done, *words):
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leadbill: error: "), done.stderr
    for word in words:
        assert word in lines[0]


def test_a_command_before_migrate_says_to_migrate_and_creates_no_database(tmp_path):
    done = leadbill("invoices", "list", home=tmp_path)
    assert_one_line_error(done, "no Leadbill database at", "leadbill migrate")
    assert not (tmp_path / "leadbill.sqlite3").exists()


def test_outside_a_home_nothing_is_created_in_the_current_folder(tmp_path):
    done = leadbill("run", "preview", cwd=tmp_path)
    assert_one_line_error(done, str(tmp_path / "leadbill.sqlite3"), "LEADBILL_HOME")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_home_is_named_and_migrate_creates_it(tmp_path):
    home = tmp_path / "not-yet"
    assert_one_line_error(leadbill("load", EXAMPLES / "setup.yaml", home=home), f"LEADBILL_HOME={home} does not exist")
    done = leadbill("migrate", home=home)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "Created the SQLite database" in done.stdout and (home / "leadbill.sqlite3").exists()
    again = leadbill("migrate", home=home)
    assert "is up to date" in again.stdout
    assert leadbill("load", EXAMPLES / "setup.yaml", home=home).returncode == 0


def test_a_database_behind_the_code_says_to_migrate(tmp_path):
    import sqlite3

    assert leadbill("migrate", home=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "leadbill.sqlite3") as db:
        db.execute("DELETE FROM django_migrations WHERE app = 'invoicing' AND name != '0001_initial'")
    assert_one_line_error(leadbill("invoices", "list", home=tmp_path), "not up to date", "leadbill migrate")


def test_an_unreachable_database_server_is_one_line(tmp_path):
    done = leadbill("invoices", "list", home=tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing")
    assert_one_line_error(done, "cannot use the postgresql database 'nothing'")


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("loaded")
    assert leadbill("migrate", home=home).returncode == 0
    assert leadbill("load", EXAMPLES / "setup.yaml", home=home).returncode == 0
    return home


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["invoices", "list"], ["several entities", "acme-eu, acme-us"]),
        (["invoices", "list", "--entity", "acme"], ["unknown entity 'acme'", "acme-eu, acme-us"]),
        (["run", "preview", "--entity", "acme-us", "--period", "2026-13"], ["2026-13"]),
        (["invoices", "show", "ACME-999999"], ["ACME-999999"]),
        (["invoices", "pay", "draft-²", "1.00"], ["draft-²"]),
        (["schedule", "set", "weekly", "--entity", "acme-us", "--window", "mon 00:00-sun 23:59", "--generate",
          "mon 0²:00"], ["generate", "0²:00"]),
        (["topup", "lakeside-direct", "lots", "--entity", "acme-us"], ["lots"]),
        (["adjust", "harbor-health", "-5", "--entity", "acme-us", "--reason", "x"], ["unknown partner 'harbor-health'"]),
        (["import", "deliveries", "no-such.csv", "--entity", "acme-us"], ["no-such.csv"]),
        (
            ["report", "--entity", "acme-us", "--partner", "blue-river", "--from", "2026-03-01", "--to", "2026-03-31",
             "-o", "/no/such/folder/leads.csv"],
            ["/no/such/folder/leads.csv"],
        ),
    ],
)  # fmt: skip
def test_the_obvious_first_mistakes_are_one_line(loaded_home, args, words):
    assert_one_line_error(leadbill(*args, home=loaded_home), *words)


def test_version_is_printed_without_a_database(tmp_path):
    done = leadbill("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("leadbill ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_an_internal_error_is_one_line_and_verbose_shows_the_traceback(monkeypatch, capsys):
    from leadbill.cli.commands import runs

    def broken(args):
        raise RuntimeError("the printer caught fire")

    monkeypatch.setattr(runs, "list_runs", broken)
    monkeypatch.setattr(cli, "_checked", True)
    assert cli.main(["run", "list"]) == cli.EXIT_INTERNAL_ERROR
    err = capsys.readouterr().err
    assert err.strip() == (
        "leadbill: internal error: RuntimeError: the printer caught fire (run again with --verbose for the traceback)"
    )
    assert cli.main(["--verbose", "run", "list"]) == cli.EXIT_INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "Traceback" in err and "the printer caught fire" in err
