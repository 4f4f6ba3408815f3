"""Finance gives a partner a weekly cycle, runs one of its weeks from the picker, then emails and downloads all.

The emails go to a real SMTP server started by the test (aiosmtpd), as the partner would receive them.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadbill.deliveries.models import Delivery
from leadbill.invoicing.models import Invoice, InvoiceRun
from leadbill.scheduling.models import Schedule
from leadbill.scheduling.selectors import weekly_windows
from tests.browser.conftest import SLUG, sign_in
from tests.mailing.test_smtp import Recorder, smtp  # noqa: F401

pytestmark = pytest.mark.browser


def _a_window_to_bill(world) -> object:
    """An ended window of the partner's new cycle inside the months not invoiced yet, with deliveries in it."""
    for choice in weekly_windows(world.entity):
        period = choice.period
        if period.start < world.last.start or period.end > timezone.now():
            continue
        if Delivery.objects.filter(partner=world.partner, delivered_at__gte=period.start,
                                   delivered_at__lt=period.end).exists():  # fmt: skip
            return choice
    raise AssertionError("no window of the last weeks has deliveries for the partner")


def test_finance_sets_a_weekly_cycle_runs_a_week_from_the_picker_and_emails_all(
    new_page,
    world,
    shoot,
    smtp,  # noqa: F811
    tmp_path: Path,
):
    server = smtp(Recorder())
    page = new_page()
    sign_in(page, world.staff_email)
    page.on("dialog", lambda dialog: dialog.accept())

    # the partner page: its billing cycle follows the entity's schedule until given its own
    page.goto(f"/console/{SLUG}/partners/{world.partner.code}/")
    cycle = page.locator("#billing-cycle")
    expect(cycle).to_contain_text("Manual only")
    cycle.get_by_text(f"Change {world.partner.name}'s cycle").click()
    weekly_window = cycle.get_by_role("group", name="Weekly billing window")
    expect(weekly_window).to_be_hidden()  # "follow the entity": no weekly fields
    cycle.get_by_label("Frequency").select_option("weekly")
    expect(weekly_window).to_be_visible()
    weekly_window.get_by_label("From").select_option(label="Friday")
    weekly_window.get_by_label("at", exact=True).first.fill("18:00")
    weekly_window.get_by_label("To").select_option(label="Friday")
    weekly_window.get_by_label("at", exact=True).last.fill("18:00")
    cycle.get_by_label("Generated on").select_option(label="Saturday")
    cycle.get_by_label("Generation time").fill("06:00")
    cycle.get_by_role("button", name="Save billing cycle").click()
    expect(page.locator(".messages")).to_contain_text("billing cycle: weekly: window Friday 18:00 to Friday 18:00")
    expect(page.locator("#billing-cycle")).to_contain_text("own cycle")
    schedule = Schedule.objects.get(partner=world.partner)
    assert (schedule.frequency, schedule.window_start_day, schedule.window_start_minute) == ("weekly", 4, 1080)
    shoot(page, "partner-cycle")

    # the runs page: the picker offers the partner's windows; no period typed anywhere
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Invoice runs").click()
    expect(page.get_by_label("Month")).to_be_visible()
    expect(page.get_by_label("Weekly billing window")).to_be_hidden()
    page.get_by_label("Kind of period").select_option("window")
    expect(page.get_by_label("Month")).to_be_hidden()
    choice = _a_window_to_bill(world)
    page.get_by_label("Weekly billing window").select_option(choice.value)
    if os.environ.get("LEADBILL_SCREENSHOTS"):  # the picker as chosen: its choices travel in the address
        shown = page.context.new_page()
        shown.goto(f"/console/{SLUG}/runs/?kind=window&window={choice.value}")
        shoot(shown, "runs-picker")
        shown.close()
    page.get_by_role("button", name="Show delivery summary").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delivery summary: {choice.period.label()}")
    expect(page.locator("main")).to_contain_text(f"{world.partner.name} only")
    rows = page.locator("main .table-wrap > table > tbody > tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(world.partner.name)
    shoot(page, "run-preview-window")
    page.get_by_role("button", name="Issue 1 document").click()
    expect(page).to_have_url(re.compile(rf"/console/{SLUG}/runs/\d+/$"))
    expect(page.locator("#run-progress h2")).to_have_text("Done: 1 document", timeout=30_000)
    run = InvoiceRun.objects.get(entity=world.entity, period_key=choice.period.key)
    assert run.scope == {"partners": [world.partner.code]}
    invoice = Invoice.objects.get(run=run)
    assert invoice.partner == world.partner and not server.accepted  # issue-and-send is off: nothing sent yet

    # Email all: a background task with progress, then the message at the SMTP server
    page.get_by_role("button", name="Email all").click()
    actions = page.locator("#run-actions")
    expect(actions).to_contain_text("Email all: done.", timeout=30_000)
    expect(actions).to_contain_text("1 sent", timeout=30_000)
    assert len(server.accepted) == 1
    _sender, recipients, content = server.accepted[0]
    assert recipients == list(world.partner.billing_emails) and invoice.number.encode() in content

    # Download all: the PDFs prepared in the background, then one zip
    page.get_by_role("button", name="Download all (zip of PDFs)").click()
    link = page.get_by_role("link", name="Download zip (1 PDF)")
    expect(link).to_be_visible(timeout=30_000)
    shoot(page, "run-after-email-and-download")
    with page.expect_download() as info:
        link.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == f"{SLUG}-run-{run.pk}-{run.period_key.replace(':', '_')}.zip"
    archive = zipfile.ZipFile(io.BytesIO(target.read_bytes()))
    assert archive.namelist() == [f"{invoice.number}.pdf"]
    assert archive.read(f"{invoice.number}.pdf").startswith(b"%PDF")

    # a month already billed explains itself: which document billed each partner
    page.goto(f"/console/{SLUG}/runs/preview/?period={world.history.key}")
    billed = page.locator("#already-billed")
    history_invoice = Invoice.objects.filter(partner=world.partner, period_key=world.history.key).get()
    expect(billed).to_contain_text(f"{world.partner.name}: billed on {history_invoice.number}")
    billed.get_by_role("link", name=history_invoice.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(history_invoice.number)
    page.go_back()
    shoot(page, "run-preview-billed")

    # Automation is finance's too; without a scheduler the page says so
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Automation").click()
    expect(page.locator(".scheduler-missing")).to_contain_text("No scheduler is running")
    expect(page.get_by_role("heading", name="Webhooks")).to_have_count(0)
    expect(page.get_by_label("Generated on")).to_be_hidden()  # manual: weekly fields hidden
    shoot(page, "automation")
    page.get_by_label("Frequency").select_option("weekly")
    expect(page.get_by_label("Generated on")).to_be_visible()
    page.get_by_label("Frequency").select_option("monthly")
    expect(page.get_by_label("Generated on")).to_be_hidden()
    page.get_by_label("Generation time").fill("6 am")
    page.get_by_role("button", name="Save schedule").click()
    expect(page.locator("main")).to_contain_text("Schedule not saved: '6 am' is not a time of day")
    expect(page.get_by_label("Generation time")).to_have_value("6 am")
    expect(page.get_by_label("Frequency")).to_have_value("monthly")
    if os.environ.get("LEADBILL_SCREENSHOTS"):  # a refused POST cannot be loaded again: this width only
        page.screenshot(path=Path(os.environ["LEADBILL_SCREENSHOTS"]) / "automation-refused.png", full_page=True)
