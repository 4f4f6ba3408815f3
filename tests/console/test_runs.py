"""The run pages: the period picker, previews that explain, issue-and-send, Email all and Download all."""

from __future__ import annotations

import html
import io
import zipfile
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.utils.html import strip_tags

from leadbill.audit.models import AuditEvent
from leadbill.invoicing.models import Invoice, InvoiceRun
from leadbill.mailing.models import EmailSend
from leadbill.scheduling.models import RunAction
from leadbill.scheduling.services import issue_and_send_set, schedule_set
from tests.factories import make_deliveries, make_partner, make_plan
from tests.webworld import JAN, STAFF, Site

URL = "/console/leadco/runs/"


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


def text(response) -> str:
    return html.unescape(response.content.decode())


def plain(response) -> str:
    """The page's words without markup, spaces collapsed."""
    return " ".join(strip_tags(text(response)).split())


def test_the_picker_previews_a_month_an_iso_week_and_a_date_range(site: Site, finance):
    chosen = finance.get(URL + "preview/", {"kind": "month", "month": "2026-01"})
    assert chosen.status_code == 302 and chosen["Location"] == URL + "preview/?period=2026-01"  # an address to keep
    page = finance.get(URL + "preview/", {"kind": "month", "month": "2026-01"}, follow=True)
    assert page.status_code == 200 and page.context["period"].key == "2026-01"
    week = finance.get(URL + "preview/", {"kind": "week", "week": "2026-W02", "month": "2026-01"}, follow=True)
    assert week.context["period"].key == "2026-W02" and week.context["period"].kind == "week"
    days = finance.get(URL + "preview/", {"kind": "range", "from": "2026-01-03", "to": "2026-01-09"}, follow=True)
    assert days.context["period"].key == "2026-01-03..2026-01-09"
    assert "Delivery summary: 3–9 January 2026" in text(days)


def test_a_wrong_range_keeps_what_was_typed_and_names_the_field(site: Site, finance):
    page = finance.get(URL + "preview/", {"kind": "range", "from": "2026-01-20", "to": "2026-01-02"})
    assert page.status_code == 400
    body = text(page)
    assert "the range ends before it starts" in body
    assert 'value="2026-01-20"' in body and 'value="2026-01-02"' in body
    assert '<option value="range" selected>Date range</option>' in body
    bad = finance.get(URL + "preview/", {"kind": "week", "week": "2026-W60"})
    assert bad.status_code == 400 and "cannot read period" in text(bad) and 'value="2026-W60"' in text(bad)


def test_a_partners_weekly_window_is_offered_and_bills_that_partner_only(site: Site, finance):
    schedule_set(actor="t", entity=site.entity, partner=site.acme, frequency="weekly", window_start=(4, 18 * 60),
                 window_end=(4, 18 * 60), generate_at=(5, 6 * 60))  # fmt: skip
    page = finance.get(URL)
    windows = page.context["windows"]
    assert windows and {w.partner_code for w in windows} == {"acme"}
    assert all(w.period.kind == "window" for w in windows)
    ended = windows[1]
    assert "Acme Insurance" in text(page) and ended.value in text(page)
    preview = finance.get(URL + "preview/", {"kind": "window", "window": ended.value}, follow=True)
    assert preview.status_code == 200 and preview.context["partner"] == site.acme
    assert preview.context["period"] == ended.period
    assert 'name="partner" value="acme"' in text(preview)  # the issue form keeps the scope


def test_invoice_now_from_a_partner_page_opens_the_picker_for_that_partner(site: Site, finance):
    page = finance.get(URL + "preview/", {"partner": "acme"})
    assert page.status_code == 200 and "For Acme Insurance only" in plain(page)
    preview = finance.get(URL + "preview/", {"partner": "acme", "kind": "month", "month": "2026-03"}, follow=True)
    assert preview.context["partner"] == site.acme


def test_an_already_billed_period_names_its_documents(site: Site, finance):
    response = finance.get(URL + "preview/", {"period": "2026-01"})
    body = text(response)
    number = site.acme_invoice.number
    assert f"Acme Insurance: billed on {number}" in plain(response)
    assert f'href="/console/leadco/invoices/{number}/"' in body
    assert "0 partners" not in body and "Already invoiced for this period: acme" not in body


def test_anomaly_badges_link_to_the_deliveries_behind_them(site: Site, finance):
    site.acme.cap_daily = 1
    site.acme.save()
    partner = make_partner(site.entity, code="noprice", name="No Price Co")  # no plan: its leads have no price
    make_deliveries(partner, 2, JAN.replace(month=3))
    make_deliveries(site.acme, 2, datetime(2026, 3, 4, 9, tzinfo=UTC))
    page = finance.get(URL + "preview/", {"period": "2026-03"})
    rows = {p["partner"]: p["anomaly_links"] for p in page.context["summary"]["partners"]}
    [over_cap] = rows["acme"]
    assert over_cap.url == "/console/leadco/deliveries/?partner=acme&from=2026-03-04&to=2026-03-04"
    [no_price] = rows["noprice"]
    assert "without a price" in no_price.text
    assert no_price.url.endswith("?partner=noprice&from=2026-03-01&to=2026-03-31&status=unbilled")
    log = finance.get(no_price.url)
    assert log.status_code == 200 and not log.context["problems"] and len(log.context["rows"]) == 2
    assert f'href="{html.escape(over_cap.url)}"' in page.content.decode()


def test_issuing_with_issue_and_send_emails_each_document_after_commit(
    site: Site, finance, django_capture_on_commit_callbacks
):
    issue_and_send_set(actor="t", entity=site.entity, on=True)
    partner = make_partner(site.entity, code="march", name="March Buyer")
    make_plan(partner)
    make_deliveries(partner, 3, JAN.replace(month=3))
    mail.outbox.clear()
    assert "and email them?" in text(finance.get(URL + "preview/", {"period": "2026-03"}))
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(URL + "issue/", {"period": "2026-03"})
    run = InvoiceRun.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    invoice = Invoice.objects.get(run=run)
    assert run.send_email and EmailSend.objects.get(invoice=invoice).state == "sent"
    assert [m.to for m in mail.outbox] == [partner.billing_emails]
    assert invoice.number in mail.outbox[0].subject


def test_drafts_are_never_sent_even_with_issue_and_send(site: Site, finance, django_capture_on_commit_callbacks):
    issue_and_send_set(actor="t", entity=site.entity, on=True)
    partner = make_partner(site.entity, code="march")
    make_plan(partner)
    make_deliveries(partner, 1, JAN.replace(month=3))
    with django_capture_on_commit_callbacks(execute=True):
        finance.post(URL + "issue/", {"period": "2026-03", "draft": "1"})
    assert not InvoiceRun.objects.get(period_key="2026-03").send_email and not EmailSend.objects.exists()


def test_email_all_sends_each_document_once_and_reports_progress(
    site: Site, finance, django_capture_on_commit_callbacks
):
    site.blue.billing_emails, site.blue.contact_email = [], ""
    site.blue.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(f"{URL}{site.run.pk}/email-all/")
    assert response.status_code == 302
    action = RunAction.objects.get(run=site.run, kind="email")
    assert action.finished_at and action.done == action.total == 2
    assert action.outcome == {"queued": 1, "already": 0}
    assert action.failures == {
        site.blue_receipt.number: "Blue Leads has no billing email; add one on the partner's page"
    }
    assert [m.to for m in mail.outbox] == [site.acme.billing_emails]
    page = plain(finance.get(f"{URL}{site.run.pk}/"))
    assert (
        "Email all: done." in page and "1 queued" in page and "1 sent" in page and "Blue Leads has no billing" in page
    )
    with django_capture_on_commit_callbacks(execute=True):  # again: nothing is sent twice
        finance.post(f"{URL}{site.run.pk}/email-all/")
    assert len(mail.outbox) == 1
    assert RunAction.objects.filter(run=site.run, kind="email").latest("pk").outcome == {"queued": 0, "already": 1}
    assert AuditEvent.objects.filter(action="run.email_all").count() == 2


def test_download_all_archives_the_pdfs_and_streams_a_zip(site: Site, finance, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        finance.post(f"{URL}{site.run.pk}/download-all/")
    action = RunAction.objects.get(run=site.run, kind="download")
    assert action.finished_at and action.outcome == {"files": 2} and not action.failures
    fragment = text(finance.get(f"{URL}{site.run.pk}/actions/"))
    zip_url = f"{URL}{site.run.pk}/documents.zip"
    assert zip_url in fragment and "Download zip (2 PDFs)" in fragment and "hx-trigger" not in fragment
    response = finance.get(zip_url)
    assert response["Content-Type"] == "application/zip"
    assert f'filename="leadco-run-{site.run.pk}-2026-01.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = sorted(archive.namelist())
    assert names == sorted([f"{site.acme_invoice.number}.pdf", f"{site.blue_receipt.number}.pdf"])
    assert all(archive.read(n).startswith(b"%PDF") for n in names)


def test_an_unfinished_action_polls_and_its_zip_is_not_served_yet(site: Site, finance):
    action = RunAction.objects.create(run=site.run, kind="download", actor="t", total=2, done=1)
    response = finance.get(f"{URL}{site.run.pk}/actions/")
    assert "Preparing PDFs: 1 of 2" in plain(response) and 'hx-trigger="every 2s"' in text(response)
    assert action.finished_at is None
    response = finance.get(f"{URL}{site.run.pk}/documents.zip")
    assert response.status_code == 302  # nothing prepared yet: back to the run page, which says so
    other = site.login("admin@other.test")
    assert other.get(f"/console/leadco/runs/{site.run.pk}/documents.zip").status_code == 404


def test_bulk_actions_refuse_a_run_still_issuing_and_readonly_staff(site: Site, finance):
    running = InvoiceRun.objects.create(entity=site.entity, period_key="2026-02", period_start=JAN, period_end=JAN,
                                        mode="issue", actor="t")  # fmt: skip
    page = text(finance.post(f"{URL}{running.pk}/email-all/", follow=True))
    assert "Not started: the run is still issuing" in page and not RunAction.objects.exists()
    readonly = site.login(STAFF["readonly"])
    assert readonly.post(f"{URL}{site.run.pk}/download-all/").status_code == 403


def test_runs_list_runs_a_fixed_number_of_queries(site: Site, finance):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page = finance.get(URL)
        assert page.status_code == 200
        return len(ctx.captured_queries)

    schedule_set(actor="t", entity=site.entity, frequency="monthly")
    schedule_set(actor="t", entity=site.entity, partner=site.acme, frequency="weekly", window_start=(4, 1080),
                 window_end=(4, 1080), generate_at=(5, 360))  # fmt: skip
    few = queries()
    for n in range(25):
        partner = make_partner(site.entity, code=f"weekly-{n}")
        schedule_set(actor="t", entity=site.entity, partner=partner, frequency="weekly", window_start=(0, 0),
                     window_end=(0, 0), generate_at=(0, 360))  # fmt: skip
        InvoiceRun.objects.create(entity=site.entity, period_key=f"2025-{n % 12 + 1:02d}", period_start=JAN,
                                  period_end=JAN, mode="issue", actor="t", finished_at=JAN,
                                  summary={"issued": ["X"], "failures": {"a": "b"}}, scope={"partners": ["acme"]})  # fmt: skip
    assert queries() == few
    page = finance.get(URL)
    assert len(page.context["recent"]) == 20 and len(page.context["windows"]) == 26 * 8


def test_run_pages_show_times_in_the_entitys_zone(site: Site, finance):
    site.entity.timezone = "America/New_York"
    site.entity.save()
    run = site.run
    InvoiceRun.objects.filter(pk=run.pk).update(started_at=datetime(2026, 12, 4, 20, 43, tzinfo=UTC))
    body = text(finance.get(f"{URL}{run.pk}/"))
    assert "2026-12-04 15:43 EST" in body
    assert "2026-12-04 15:43 EST" in text(finance.get(URL))


def test_a_run_page_with_many_documents_and_actions_runs_a_fixed_number_of_queries(
    site: Site, finance, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert finance.get(url).status_code == 200
        return len(ctx.captured_queries)

    with django_capture_on_commit_callbacks(execute=True):
        finance.post(f"{URL}{site.run.pk}/email-all/")
    few = (queries(f"{URL}{site.run.pk}/"), queries(f"{URL}{site.run.pk}/actions/"))
    for n in range(12):
        partner = make_partner(site.entity, code=f"more-{n}")
        make_plan(partner)
        make_deliveries(partner, 1, JAN.replace(month=4))
    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue

    with django_capture_on_commit_callbacks(execute=True):
        april = invoice_run_issue(actor="t", entity=site.entity, period=periods.month(2026, 4, "UTC")).run
        finance.post(f"{URL}{april.pk}/email-all/")
    assert RunAction.objects.get(run=april).outcome == {"queued": 12, "already": 0}
    assert (queries(f"{URL}{april.pk}/"), queries(f"{URL}{april.pk}/actions/")) == few
