"""The secret key is never a public default, and production over HTTPS passes Django's deploy checks."""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from leadbill.config.settings import secret_key_file

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
django.setup()
from django.conf import settings
names = {names!r}
print(json.dumps({{name: str(getattr(settings, name, None)) for name in names}}))
"""


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without the settings under test, with LEADBILL_HOME=home."""
    drop = {"DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "LEADBILL_HOME", "LEADBILL_BASE_URL"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("LEADBILL_HSTS", "LEADBILL_SSL"))}
    env.pop("LEADBILL_HTTPS", None)
    env.pop("LEADBILL_SECURE_COOKIES", None)
    return {**env, "LEADBILL_HOME": str(home), **extra}


def settings_of(env: dict[str, str], *names: str) -> tuple[dict[str, str], str]:
    done = subprocess.run([sys.executable, "-c", PRINT_SETTINGS.format(names=names)], cwd=env["LEADBILL_HOME"],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def leadbill(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leadbill", *args], cwd=env["LEADBILL_HOME"], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_a_key_file_is_made_once_private_and_then_read(tmp_path):
    path = tmp_path / "secret_key"
    key, made = secret_key_file(path)
    assert made and len(key) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key_file(path) == (key, False)
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no draft left behind


def test_the_embedded_default_keeps_one_key_in_the_home(tmp_path):
    env = clean_env(tmp_path)
    before, _ = settings_of(env, "SECRET_KEY", "LEADBILL_SECRET_KEY_SOURCE")
    assert before["LEADBILL_SECRET_KEY_SOURCE"] == "home"
    assert not (tmp_path / "secret_key").exists(), "no database here yet: a stray key file is made by no one"
    assert "leadbill-embedded-default" not in before["SECRET_KEY"] and len(before["SECRET_KEY"]) >= 50

    assert leadbill(env, "migrate").returncode == 0
    first, said = settings_of(env, "SECRET_KEY")
    assert "made a secret key for this home" in said and str(tmp_path / "secret_key") in said
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    again, said_again = settings_of(env, "SECRET_KEY")
    assert again == first and first["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert "secret key" not in said_again
    assert first["SECRET_KEY"] != before["SECRET_KEY"]


def test_secret_key_from_the_environment_wins(tmp_path):
    (tmp_path / "secret_key").write_text("from-the-file\n")
    chosen, _ = settings_of(clean_env(tmp_path, SECRET_KEY="from-the-environment"), "SECRET_KEY",
                            "LEADBILL_SECRET_KEY_SOURCE")  # fmt: skip
    assert chosen == {"SECRET_KEY": "from-the-environment", "LEADBILL_SECRET_KEY_SOURCE": "env"}


def test_a_server_database_without_secret_key_gets_a_random_key_per_process(tmp_path):
    env = clean_env(tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing")
    one, _ = settings_of(env, "SECRET_KEY", "LEADBILL_SECRET_KEY_SOURCE")
    two, _ = settings_of(env, "SECRET_KEY")
    assert one["LEADBILL_SECRET_KEY_SOURCE"] == "process"
    assert one["SECRET_KEY"] != two["SECRET_KEY"] and len(one["SECRET_KEY"]) >= 50
    assert list(tmp_path.iterdir()) == []


def test_no_public_default_key_in_the_settings():
    source = (ROOT / "src" / "leadbill" / "config" / "settings.py").read_text()
    assert "change-me" not in source and 'os.environ.get("SECRET_KEY", "' not in source


def test_the_tests_sign_without_writing_a_key_file_into_the_project(db):
    had_one = (Path(settings.HOME) / "secret_key").exists()
    assert len(str(settings.SECRET_KEY)) >= 50
    assert (Path(settings.HOME) / "secret_key").exists() == had_one


@pytest.mark.parametrize(("base_url", "https"), [("https://billing.example", True), ("http://127.0.0.1:8000", False)])
def test_https_turns_on_secure_cookies_hsts_and_the_redirect(tmp_path, base_url, https):
    names = ("LEADBILL_HTTPS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
             "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")  # fmt: skip
    got, _ = settings_of(clean_env(tmp_path, LEADBILL_BASE_URL=base_url, DEBUG="1"), *names)
    assert got == {**dict.fromkeys(names[:-1], str(https)), "SECURE_HSTS_SECONDS": "31536000" if https else "0"}


def test_a_proxy_header_can_say_https(tmp_path):
    got, _ = settings_of(clean_env(tmp_path, LEADBILL_PROXY_SSL_HEADER="X-Forwarded-Proto"), "SECURE_PROXY_SSL_HEADER")
    assert got == {"SECURE_PROXY_SSL_HEADER": str(("HTTP_X_FORWARDED_PROTO", "https"))}


def test_production_over_https_passes_the_deploy_checks(tmp_path):
    env = clean_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(50), LEADBILL_BASE_URL="https://billing.example",
                    ALLOWED_HOSTS="billing.example")  # fmt: skip
    done = leadbill(env, "manage", "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout + done.stderr
    assert "WARNINGS" not in done.stdout + done.stderr and "ERRORS" not in done.stdout + done.stderr
    assert not (tmp_path / "secret_key").exists()  # SECRET_KEY is set: no key file


def test_without_https_the_deploy_checks_say_so(tmp_path):
    done = leadbill(clean_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="billing.example"),
                    "manage", "check", "--deploy")  # fmt: skip
    assert "security.W004" in done.stderr + done.stdout and "security.W008" in done.stderr + done.stdout


def test_numbers_from_the_environment_go_through_the_bounded_reader(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from leadbill.config.settings import env_seconds, env_whole, env_whole_list

    monkeypatch.setenv("LEADBILL_RUN_CHUNK", "25")
    assert env_whole("LEADBILL_RUN_CHUNK", 50, least=1) == 25
    monkeypatch.delenv("LEADBILL_RUN_CHUNK")
    assert env_whole("LEADBILL_RUN_CHUNK", 50, least=1) == 50
    for bad in ("²", "٣", "1e3", "-4", "0", "9" * 19):  # Unicode digits, exponents, signs, below least, too long
        monkeypatch.setenv("LEADBILL_RUN_CHUNK", bad)
        with pytest.raises(ImproperlyConfigured, match=r"LEADBILL_RUN_CHUNK="):
            env_whole("LEADBILL_RUN_CHUNK", 50, least=1)
    monkeypatch.setenv("LEADBILL_WORKER_HEARTBEAT", "0.5")
    assert env_seconds("LEADBILL_WORKER_HEARTBEAT", 10) == 0.5
    for bad in ("nan", "inf", "1e9", "٣", "0", ".", "1.2.3", "-1"):
        monkeypatch.setenv("LEADBILL_WORKER_HEARTBEAT", bad)
        with pytest.raises(ImproperlyConfigured, match=r"LEADBILL_WORKER_HEARTBEAT="):
            env_seconds("LEADBILL_WORKER_HEARTBEAT", 10)
    monkeypatch.setenv("LEADBILL_EMAIL_RETRY_DELAYS", "60, 300,1800")
    assert env_whole_list("LEADBILL_EMAIL_RETRY_DELAYS", [1]) == [60, 300, 1800]
    monkeypatch.setenv("LEADBILL_EMAIL_RETRY_DELAYS", "60,²")
    with pytest.raises(ImproperlyConfigured, match=r"LEADBILL_EMAIL_RETRY_DELAYS="):
        env_whole_list("LEADBILL_EMAIL_RETRY_DELAYS", [1])
