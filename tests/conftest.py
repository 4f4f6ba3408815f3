import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests check what is true, not how fast: on a loaded 2-core CI machine one example can
# take longer than Hypothesis's default 200 ms deadline, which then fails a correct test as flaky.
hypothesis_settings.register_profile("leadbill", deadline=None)
hypothesis_settings.load_profile("leadbill")

# The team's shared e-invoice validator lives beside the project root (../shared/einvoice/run.sh),
# as on our machines and in CI; LEADBILL_EINVOICE=/path/to/run.sh points at another copy.
EINVOICE_BESIDE = Path(__file__).resolve().parents[2] / "shared" / "einvoice" / "run.sh"

Validate = Callable[..., subprocess.CompletedProcess[str]]


def pytest_report_header(config):
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']} ({os.environ.get('DATABASE_URL', 'sqlite default')})"


@pytest.fixture
def is_postgres():
    from django.db import connection

    return connection.vendor == "postgresql"


def pytest_sessionstart(session):
    """With LEADBILL_REQUIRE_POSTGRES set (CI), running on anything else is an error, never a skip."""
    if os.environ.get("LEADBILL_REQUIRE_POSTGRES"):
        from django.conf import settings

        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            pytest.exit(f"LEADBILL_REQUIRE_POSTGRES is set but the database is {engine}", returncode=3)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests sign people in often; the production hasher's 1M iterations would dominate them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _nothing_kept_between_tests():
    """Each test starts with no kept preview drafts: ids and tokens of a rolled-back or flushed test
    database come round again."""
    from leadbill.invoicing import kept

    kept.clear()


@pytest.fixture
def frozen(monkeypatch):
    """Freeze the clock Leadbill reads (`django.utils.timezone.now`): `frozen(datetime)` sets it."""
    from django.utils import timezone

    def freeze(at):
        monkeypatch.setattr(timezone, "now", lambda: at)
        return at

    return freeze


def einvoice_validator() -> Path:
    """Where the shared validator's run.sh is expected: LEADBILL_EINVOICE, else ../shared/einvoice/run.sh."""
    return Path(os.environ.get("LEADBILL_EINVOICE") or EINVOICE_BESIDE)


@pytest.fixture
def einvoice() -> Validate:
    """The shared EN 16931 / Peppol / Factur-X validator: `einvoice(paths, *options)` runs it once on all files.

    Every test that checks documents against the official rules goes through this fixture; list it
    first so a missing validator stops the test before its data is built. Without the validator the
    test skips, and says how to get it; with LEADBILL_REQUIRE_EINVOICE set (CI) it fails instead.
    """
    run_sh = einvoice_validator()
    if not run_sh.is_file():
        why = (
            f"the shared e-invoice validator is not at {run_sh}: clone the project beside the team's shared/ "
            "folder (../shared/einvoice/run.sh) or set LEADBILL_EINVOICE=/path/to/run.sh"
        )
        if os.environ.get("LEADBILL_REQUIRE_EINVOICE"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)

    def validate(paths: list[Path], *options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(run_sh), *options, *map(str, paths)], capture_output=True, text=True, timeout=600
        )

    return validate


@pytest.fixture
def fake_dns(monkeypatch):
    """`fake_dns({"hooks.example": ["93.184.216.34"]})`: those names resolve to those addresses.

    Address literals and other names go to the real resolver (a literal never reaches DNS). Returns
    the list of names looked up, in order, so a test can count lookups.
    """
    real = socket.getaddrinfo
    names: dict[str, list[str]] = {}
    looked_up: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name in names:
            looked_up.append(name)
            return [
                (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (ip, port, 0, 0) if ":" in ip else (ip, port))
                for ip in names[name]
            ]  # fmt: skip
        return real(host, port, family, type, proto, flags)

    def answer(mapping):
        names.update(mapping)
        return looked_up

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answer
