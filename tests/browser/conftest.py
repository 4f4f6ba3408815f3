"""Real-browser tests: headless Chromium (Playwright, sync API) against pytest-django's live server.

The browser is the system's Chromium (env LEADBILL_CHROMIUM, else /usr/bin/chromium), never one
downloaded by `playwright install`. Without it the tests skip, unless LEADBILL_REQUIRE_BROWSER=1
(CI), where a missing browser is a failure.

The data is the demo's own set-up (`leadbill.demo.data`: the US entity, its buyers, their plans)
with a few hundred deliveries through the CSV import: the month before last issued and half paid,
last month delivered and waiting for its invoice run, and this month under way.

Screenshots: set LEADBILL_SCREENSHOTS to a folder (docs/screenshots) and the tests save full-page
PNGs of the pages they pass, at a laptop and at a tablet viewport.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect, sync_playwright

PASSWORD = "orchard-lantern-42"
ACTOR = "test:browser"
SLUG = "acme-us"
ZONE = "America/New_York"  # acme-us's time zone in the demo set-up
DESKTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}
TIMEOUT_MS = 30_000  # a download under a full suite on two busy cores once took over 15 s
expect.set_options(timeout=TIMEOUT_MS)  # CI machines can be slow; a real failure still shows within seconds


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium against the live server")


def chromium_path() -> str | None:
    path = os.environ.get("LEADBILL_CHROMIUM") or "/usr/bin/chromium"
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _unavailable(why: str) -> None:
    if os.environ.get("LEADBILL_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LEADBILL_REQUIRE_BROWSER=1 but {why}", pytrace=False)
    pytest.skip(why)


@dataclass
class World:
    entity: Any
    history: Any  # the month before last: issued, half of it paid
    last: Any  # last month: delivered, not yet invoiced
    partner: Any  # the portal user's partner
    other: Any  # another buyer of the same entity
    staff_email: str
    portal_email: str


def _build_world() -> World:
    import yaml

    from leadbill.deliveries.services import deliveries_import
    from leadbill.demo.data import csv_text, delivery_rows, months_before, setup_document
    from leadbill.demo.run import LOGOS
    from leadbill.domain import periods
    from leadbill.entities.models import Entity
    from leadbill.invoicing.models import Invoice
    from leadbill.invoicing.services import invoice_run_issue, payment_record, topup_record
    from leadbill.loader.services import setup_load, setup_read
    from leadbill.partners.models import Partner
    from leadbill.web.services import partner_user_invite, staff_add

    now = datetime.now(tz=UTC)
    history_first, last_first = months_before(now.astimezone(ZoneInfo(ZONE)).date())  # the entity's months
    document, buyers = setup_document(
        periods.month(history_first.year, history_first.month, "UTC"),
        periods.month(last_first.year, last_first.month, "UTC"),
    )
    document["entities"] = [e for e in document["entities"] if e["slug"] == SLUG]
    setup_load(actor=ACTOR, document=setup_read(yaml.safe_dump(document, allow_unicode=True), base_dir=LOGOS))
    entity = Entity.objects.get(slug=SLUG)
    assert entity.timezone == ZONE
    tz = ZoneInfo(ZONE)
    history = periods.month(history_first.year, history_first.month, entity.timezone)
    last = periods.month(last_first.year, last_first.month, entity.timezone)

    own = [b for b in buyers if b.entity == SLUG]
    start = datetime.combine(history_first, time(0), tz)
    rows = delivery_rows(own, start, now - timedelta(hours=1), 900, seed=21, prefix="br")
    deliveries_import(actor=ACTOR, entity=entity, stream=csv_text(rows), file_name="browser.csv")
    for prepay in Partner.objects.filter(entity=entity, billing_mode="prepay"):
        topup_record(actor=ACTOR, partner=prepay, amount_minor=500_000, occurred_at=history.start + timedelta(hours=9),
                     reference="wire PP-1")  # fmt: skip

    invoice_run_issue(actor=ACTOR, entity=entity, period=history, issue_date=last_first)
    for inv in Invoice.objects.filter(entity=entity, kind="invoice", status="issued").order_by("pk")[::2]:
        payment_record(actor=ACTOR, invoice=inv, amount_minor=inv.total_minor, paid_on=last_first + timedelta(days=9),
                       reference=f"wire {inv.number}")  # fmt: skip

    partner = Partner.objects.get(entity=entity, code="summit-auto-protect")
    other = Partner.objects.get(entity=entity, code="blue-river-insurance")
    staff_email, portal_email = "finance@browser.leadbill.test", "dana@summit.example"
    staff_add(actor=ACTOR, entity=entity, email=staff_email, name="Fran Finance", role="finance", password=PASSWORD)
    partner_user_invite(actor=ACTOR, partner=partner, email=portal_email, name="Dana Miller", main_contact=True,
                        password=PASSWORD)  # fmt: skip
    return World(entity, history, last, partner, other, staff_email, portal_email)


@pytest.fixture(scope="session")
def _one_request_at_a_time_on_in_memory_sqlite() -> None:
    """On the in-memory SQLite test database every server thread shares the test's one connection.

    Two requests at once (a dashboard fragment still loading while the next page is asked for) would
    then share its transaction and its temp tables: one request's preview dropped the other's plan-day
    table mid-read. Real deployments give each thread its own connection, and PostgreSQL runs keep
    the threaded server; here the live server answers one request at a time instead.
    """
    from django.core.servers.basehttp import WSGIServer
    from django.db import connection
    from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler

    def one_at_a_time(thread: Any, connections_override: Any = None) -> WSGIServer:
        # the requests run on the server thread itself, which holds the shared connection
        return WSGIServer((thread.host, thread.port), QuietWSGIRequestHandler, allow_reuse_address=False)

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        LiveServerThread._create_server = one_at_a_time  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def live_server(_one_request_at_a_time_on_in_memory_sqlite: None, live_server: Any) -> Any:
    """pytest-django's live server, started after the patch above."""
    return live_server


@pytest.fixture
def world(transactional_db: None) -> World:
    return _build_world()


@pytest.fixture
def browser(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """One headless Chromium per test (started in about half a second)."""
    from django.db import connections

    path = chromium_path()
    if path is None:
        _unavailable(f"no Chromium at {os.environ.get('LEADBILL_CHROMIUM') or '/usr/bin/chromium'}")
    # Playwright's sync API keeps an asyncio loop on this thread; the test's own ORM calls
    # (and the database flush after it) are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()
            # With that loop on the thread, Django (asgiref) keeps the test's connections apart from
            # the thread's usual ones: close them, or PostgreSQL's DROP DATABASE waits on them.
            connections.close_all()


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh context (its own cookies) per call; pages fail the test on a JavaScript error."""
    contexts = []
    errors: list[str] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(base_url=live_server.url, viewport=viewport, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors in the pages: {errors}"


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page, f"signing in as {email} failed").not_to_have_url(re.compile(r"/accounts/login/"))


def snap(page: Any, name: str) -> None:
    """This page as it is now (a POST's answer, an open menu: what `shoot` cannot load again), at laptop and
    tablet width, when LEADBILL_SCREENSHOTS names a folder."""
    folder = os.environ.get("LEADBILL_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for suffix, viewport in (("", DESKTOP), ("-tablet", TABLET)):
        page.set_viewport_size(viewport)
        page.screenshot(path=Path(folder) / f"{name}{suffix}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


@pytest.fixture
def shoot() -> Any:
    """shoot(page, name): whole-page PNGs at laptop and tablet width, when LEADBILL_SCREENSHOTS names a folder.

    Each shot loads the page afresh at its width in the same session, as that device would, then
    grows the window to the page's height: Chromium leaves a PDF frame blank in a scrolled capture.
    """
    folder = os.environ.get("LEADBILL_SCREENSHOTS")

    def take(page: Any, name: str) -> None:
        if not folder:
            return
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for suffix, viewport in (("", DESKTOP), ("-tablet", TABLET)):
            shown = page.context.new_page()
            shown.set_viewport_size(viewport)
            shown.goto(page.url)
            shown.wait_for_load_state("networkidle")
            height = shown.evaluate("document.documentElement.scrollHeight")
            shown.set_viewport_size({"width": viewport["width"], "height": max(viewport["height"], height)})
            if shown.locator("iframe").count():
                shown.wait_for_timeout(1000)  # the PDF viewer draws after the frame's load event
            shown.screenshot(path=out / f"{name}{suffix}.png")
            shown.close()

    return take
