"""`leadbill serve` never runs with a key other workers cannot share, and says where its key comes from."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from leadbill.cli.commands import apikey
from leadbill.cli.main import CommandError

ROOT = Path(__file__).resolve().parents[2]


def test_serve_refuses_a_random_key_of_its_own_and_accepts_a_shared_one():
    assert "SECRET_KEY" in apikey.serve_refusal("process")
    assert apikey.serve_refusal("env") is None
    assert apikey.serve_refusal("home") is None


@pytest.fixture
def no_server(monkeypatch):
    """Record instead of migrating and starting gunicorn."""
    calls: list[object] = []
    monkeypatch.setattr("django.core.management.call_command", lambda *a, **k: calls.append(("call_command", a)))
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append(("execv", argv)))
    return calls


def serve_args():
    return apikey.argparse.Namespace(bind="127.0.0.1:0", workers=1)


def test_serve_without_secret_key_on_a_server_database_stops_before_anything(settings, no_server):
    settings.LEADBILL_SECRET_KEY_SOURCE = "process"
    with pytest.raises(CommandError, match="SECRET_KEY is not set"):
        apikey.run_server(serve_args())
    assert no_server == []


def test_serve_on_the_embedded_default_makes_the_home_key_once(settings, no_server, tmp_path, capsys):
    settings.LEADBILL_SECRET_KEY_SOURCE = "home"
    settings.LEADBILL_SECRET_KEY_FILE = tmp_path / "secret_key"
    apikey.run_server(serve_args())
    said = capsys.readouterr().err
    assert f"made a secret key for this home in {tmp_path / 'secret_key'}" in said
    assert f"secret key from {tmp_path / 'secret_key'}" in said
    assert [call[0] for call in no_server] == ["call_command", "execv"]
    key = (tmp_path / "secret_key").read_text()
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600

    apikey.run_server(serve_args())
    assert "made a secret key" not in capsys.readouterr().err
    assert (tmp_path / "secret_key").read_text() == key


def test_serve_with_a_database_url_and_no_secret_key_is_one_line(tmp_path):
    """The real command: DATABASE_URL names the database (here a SQLite file, as it would PostgreSQL)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "LEADBILL_HOME")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}", LEADBILL_HOME=str(tmp_path))

    def leadbill(*args):
        return subprocess.run([sys.executable, "-m", "leadbill", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip

    assert leadbill("migrate").returncode == 0
    done = leadbill("serve", "--bind", "127.0.0.1:1")
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leadbill: error: SECRET_KEY is not set"), done.stderr
    assert not (tmp_path / "secret_key").exists()
