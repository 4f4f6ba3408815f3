"""What finance staff do in the console, through the pages, down to the services' effects."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Return
from leadbill.invoicing.models import Adjustment, Invoice, LedgerEntry
from leadbill.partners.models import Partner
from tests.factories import TIERS_2_150_1, make_deliveries, make_partner, make_plan
from tests.webworld import JAN, STAFF, Site


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_dashboard_shows_money_owed_and_a_twelve_month_chart(site: Site, finance):
    page = text(finance.get("/console/leadco/"))
    assert ("Open invoices" in page and "€6.00" in page) or "€7.14" in page  # acme: 3 leads at 2.00 + 19 % tax
    assert page.count('class="bar"') == 12  # one bar per month, empty months included
    assert "<svg" in page and 'role="img"' in page


def test_a_partial_payment_then_the_rest_marks_the_invoice_paid(site: Site, finance):
    url = f"/console/leadco/invoices/{site.acme_invoice.number}/payments/"
    assert finance.post(url, {"amount": "2.00", "paid_on": "2026-02-10", "reference": "wire 1"}).status_code == 302
    invoice = Invoice.objects.get(pk=site.acme_invoice.pk)
    assert invoice.status == "partially_paid" and invoice.paid_minor == 200
    finance.post(url, {"amount": "", "paid_on": "2026-02-11"})  # empty: the whole balance
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.paid_minor == invoice.total_minor


def test_a_payment_in_too_many_decimals_is_refused_with_the_reason(site: Site, finance):
    response = finance.post(f"/console/leadco/invoices/{site.acme_invoice.number}/payments/", {"amount": "1.001"},
                            follow=True)  # fmt: skip
    assert "Payment not recorded" in text(response)
    assert Invoice.objects.get(pk=site.acme_invoice.pk).paid_minor == 0


def test_voiding_issues_a_reversing_credit_note(site: Site, finance):
    response = finance.post(f"/console/leadco/invoices/{site.acme_invoice.number}/void/", {"reason": "wrong prices", "leads": "rebill"},
                            follow=True)  # fmt: skip
    assert "is void; credit note CN-000001 reverses it" in text(response)
    assert Invoice.objects.get(pk=site.acme_invoice.pk).status == "void"


def test_void_without_a_reason_changes_nothing(site: Site, finance):
    finance.post(f"/console/leadco/invoices/{site.acme_invoice.number}/void/", {"reason": " "})
    assert Invoice.objects.get(pk=site.acme_invoice.pk).status == "issued"


def test_sending_an_invoice_emails_the_pdf_to_the_billing_addresses(
    site: Site, finance, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the message leaves after commit
        assert finance.post(f"/console/leadco/invoices/{site.acme_invoice.number}/send/").status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == site.acme.billing_emails
    names = [a[0] for a in message.attachments]
    assert names[0].endswith(".pdf") and message.attachments[0][1].startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="invoice.sent", object_id=str(site.acme_invoice.pk)).count() == 1


def test_returns_are_accepted_in_bulk_and_rejection_needs_a_reason(site: Site, finance):
    ids = [site.acme_return.pk, site.blue_return.pk]
    response = finance.post("/console/leadco/returns/decide/", {"bulk": "reject", "ids": ids, "note": ""}, follow=True)
    assert "give the reason for rejecting" in text(response)
    assert Return.objects.filter(pk__in=ids, status="requested").count() == 2
    response = finance.post("/console/leadco/returns/decide/", {"bulk": "accept", "ids": ids}, follow=True)
    assert "Accepted 2 returns" in text(response)
    assert Return.objects.filter(pk__in=ids, status="accepted").count() == 2


def test_unicode_digits_in_return_ids_are_not_ids(site: Site, finance):
    """'²' passes str.isdigit() but int() refuses it: no 500, nothing decided."""
    response = finance.post("/console/leadco/returns/decide/", {"one": "accept:²"}, follow=True)
    assert response.status_code == 200
    response = finance.post("/console/leadco/returns/decide/", {"bulk": "accept", "ids": ["²", "٣"]}, follow=True)
    assert response.status_code == 200
    assert Return.objects.filter(status="requested").count() == 2


def test_deciding_another_entitys_return_decides_nothing(site: Site, finance):
    from leadbill.deliveries.services import return_request
    from tests.factories import make_delivery

    foreign = return_request(actor="t", delivery=make_delivery(site.other_acme, JAN), reason="x",
                             requested_at=JAN + timedelta(days=1))  # fmt: skip
    response = finance.post("/console/leadco/returns/decide/", {"one": f"accept:{foreign.pk}"}, follow=True)
    assert "do not exist here" in text(response)
    assert Return.objects.get(pk=foreign.pk).status == "requested"


def test_adjustment_and_top_up_from_the_partner_page(site: Site, finance):
    finance.post(
        "/console/leadco/partners/acme/adjustments/", {"direction": "credit", "amount": "5.00", "reason": "goodwill"}
    )
    assert Adjustment.objects.get(partner=site.acme).amount_minor == -500
    finance.post("/console/leadco/partners/blue/topups/", {"amount": "50.00", "received_on": "2026-02-03"})
    assert LedgerEntry.objects.filter(partner=site.blue, kind="topup").count() == 2
    response = finance.post("/console/leadco/partners/acme/topups/", {"amount": "50.00"}, follow=True)
    assert "billed on credit; top-ups are for prepay partners" in text(response)


def test_partner_edit_saves_terms_and_names_the_bad_field(site: Site, finance):
    form = {"code": "acme", "name": "Acme Insurance AG", "billing_mode": "credit", "active": "on", "is_buyer": "on",
            "returns_allowed": "on", "country": "DE", "payment_terms_days": "14", "cap_daily": "500",
            "contact_email": "ap@acme.test"}  # fmt: skip
    assert finance.post("/console/leadco/partners/acme/edit/", form).status_code == 302
    acme = Partner.objects.get(pk=site.acme.pk)
    assert (acme.name, acme.payment_terms_days, acme.cap_daily) == ("Acme Insurance AG", 14, 500)
    bad = finance.post("/console/leadco/partners/acme/edit/", {**form, "payment_terms_days": "soon", "tax_rate": "250"})
    page = text(bad)
    assert bad.status_code == 200 and 'id="id_payment_terms_days_error"' in page and 'id="id_tax_rate_error"' in page
    assert Partner.objects.get(pk=site.acme.pk).payment_terms_days == 14


def test_new_partner_from_the_console(site: Site, finance):
    form = {"code": "crane", "name": "Crane Leads", "billing_mode": "prepay", "active": "on", "is_buyer": "on",
            "country": "DE", "low_balance_alert": "100.00"}  # fmt: skip
    response = finance.post("/console/leadco/partners/new/", form)
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == "/console/leadco/partners/crane/"
    assert Partner.objects.get(entity=site.entity, code="crane").low_balance_minor == 10_000


def test_plan_quote_prices_ten_hundred_and_thousand_leads_as_you_type(site: Site, finance):
    form = {"model": "graduated", "effective_from": "2026-03-01"}
    for i, tier in enumerate(TIERS_2_150_1):
        form[f"up_to_{i}"] = "" if tier["up_to"] is None else str(tier["up_to"])
        form[f"tier_price_{i}"] = tier["price"]
    page = text(finance.post("/console/leadco/partners/acme/plans/quote/", form))
    # 10 at 2.00; 100 at 2.00; 100 at 2.00 + 200 at 1.50 + 700 at 1.00
    assert 'data-leads="10">€20.00' in page and 'data-leads="100">€200.00' in page
    assert 'data-leads="1000">€1,200.00' in page
    bad = text(finance.post("/console/leadco/partners/acme/plans/quote/", {"model": "flat", "price": "1.5.0"}))
    assert "Price per lead" in bad and "notice warn" in bad


def test_saving_a_plan_makes_a_new_version(site: Site, finance):
    response = finance.post("/console/leadco/partners/acme/plans/new/",
                            {"model": "flat", "effective_from": "2026-03-01", "price": "2.50"})  # fmt: skip
    assert response.status_code == 302
    assert site.acme.price_plans.filter(config={"price": "2.50"}).exists()


def test_deliveries_log_pages_by_keyset_without_gaps_or_repeats(site: Site, finance):
    make_deliveries(site.acme, 120, JAN + timedelta(days=2), step_seconds=1)
    seen, url = [], "/console/leadco/deliveries/?partner=acme"
    while url:
        response = finance.get(url if url.startswith("/") else "/console/leadco/deliveries/" + url)
        seen += response.context["rows"]
        url = response.context["next_url"]
    assert len(seen) == 123 and len({d.pk for d in seen}) == 123
    times = [(d.delivered_at, d.pk) for d in seen]
    assert times == sorted(times, reverse=True)


def test_deliveries_status_filter_and_csv_export(site: Site, finance):
    fresh = make_deliveries(site.acme, 2, JAN + timedelta(days=40))
    unbilled = finance.get("/console/leadco/deliveries/", {"status": "unbilled", "partner": "acme"}).context["rows"]
    assert {d.pk for d in unbilled} == {d.pk for d in fresh}
    requested = finance.get("/console/leadco/deliveries/", {"status": "return_requested"}).context["rows"]
    assert {d.pk for d in requested} == {site.acme_return.delivery_id, site.blue_return.delivery_id}
    export = finance.get("/console/leadco/deliveries/export.csv", {"partner": "acme"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(rows) == 5 and {r["partner"] for r in rows} == {"acme"}
    assert sorted(r["status"] for r in rows) == ["billed", "billed", "return requested", "unbilled", "unbilled"]
    assert finance.get("/console/leadco/deliveries/export.csv", {"partner": "nobody"}).status_code == 400


def test_unknown_filter_values_are_reported_not_ignored(site: Site, finance):
    page = text(finance.get("/console/leadco/deliveries/", {"partner": "nobody", "from": "2026-13-01"}))
    assert "no partner 'nobody'" in page and "from: not a date" in page


def test_list_pages_run_a_fixed_number_of_queries(site: Site, finance):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert finance.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = (queries("/console/leadco/invoices/"), queries("/console/leadco/deliveries/"))
    for n in range(15):
        partner = make_partner(site.entity, code=f"extra-{n}")
        make_plan(partner)
        make_deliveries(partner, 2, JAN)
    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue

    invoice_run_issue(actor="t", entity=site.entity, period=periods.month(2026, 1, "UTC"))
    assert (queries("/console/leadco/invoices/"), queries("/console/leadco/deliveries/")) == few


@pytest.mark.parametrize(
    ("zone", "hours_after_due_day_starts", "badge"),
    [("Asia/Tokyo", 23.5, "overdue"), ("America/Los_Angeles", 25, "issued")],
    ids=["Tokyo at 23:30 UTC on the due date: the next day there", "Los Angeles at 01:00 UTC the day after: not yet"],
)
def test_the_overdue_badge_compares_the_due_date_with_the_entitys_date_not_the_servers(
    site: Site, finance, monkeypatch, zone, hours_after_due_day_starts, badge
):
    from datetime import UTC, datetime

    from django.utils import timezone

    from leadbill.entities.models import Entity
    from tests.webworld import ACME_USER

    Entity.objects.filter(pk=site.entity.pk).update(timezone=zone)
    due = site.acme_invoice.due_date
    now = datetime(due.year, due.month, due.day, tzinfo=UTC) + timedelta(hours=hours_after_due_day_starts)
    monkeypatch.setattr(timezone, "now", lambda: now)
    number = site.acme_invoice.number
    portal = site.login(ACME_USER)
    pages = {
        "invoice list": finance.get("/console/leadco/invoices/"),
        "invoice": finance.get(f"/console/leadco/invoices/{number}/"),
        "partner": finance.get("/console/leadco/partners/acme/"),
        "portal list": portal.get("/portal/"),
        "portal invoice": portal.get(f"/portal/invoices/{number}/"),
    }
    other = "issued" if badge == "overdue" else "overdue"
    for name, response in pages.items():
        assert response.status_code == 200, name
        page = text(response)
        assert f'<span class="badge {badge}">{badge}</span>' in page, name
        assert f'<span class="badge {other}">' not in page, name


def test_the_partner_page_runs_a_fixed_number_of_queries_however_many_invoices_it_lists(site: Site, finance):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert finance.get("/console/leadco/partners/acme/").status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue

    for month in (2, 3, 4):
        make_deliveries(site.acme, 2, JAN.replace(month=month))
        invoice_run_issue(actor="t", entity=site.entity, period=periods.month(2026, month, "UTC"))
    assert Invoice.objects.filter(partner=site.acme, kind="invoice").count() == 4
    assert queries() == few


def test_issuing_a_run_from_the_console_runs_as_a_task_and_reports_progress(
    site: Site, finance, django_capture_on_commit_callbacks
):
    partner = make_partner(site.entity, code="late")
    make_plan(partner)
    make_deliveries(partner, 4, JAN.replace(month=3))
    preview = text(finance.get("/console/leadco/runs/preview/", {"period": "2026-03"}))
    assert "Issue 1 document" in preview
    with django_capture_on_commit_callbacks(execute=True):  # the task is enqueued after commit
        response = finance.post("/console/leadco/runs/issue/", {"period": "2026-03"})
    assert response.status_code == 302
    run_page = finance.get(response["Location"])
    assert run_page.context["finished"] and run_page.context["count"] == 1
    assert run_page.context["run"].summary["progress"] == {"done": 3, "total": 3}
    assert Invoice.objects.filter(partner=partner, period_key="2026-03", status="issued").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = finance.post("/console/leadco/runs/issue/", {"period": "2026-03"})
    assert finance.get(again["Location"]).context["run"].summary["skipped_already_invoiced"] == ["late"]


def test_an_open_period_cannot_be_issued(site: Site, finance):
    from leadbill.invoicing.services import today_in

    today = today_in(site.entity)
    response = finance.post("/console/leadco/runs/issue/", {"period": f"{today:%Y-%m}"}, follow=True)
    assert "has not ended yet" in text(response)


def test_partner_list_shows_open_invoices_and_prepay_balances(site: Site, finance):
    page = text(finance.get("/console/leadco/partners/"))
    rows = {p.code: p for p in finance.get("/console/leadco/partners/").context["partners"]}
    assert rows["acme"].open_invoices == 1 and rows["blue"].balance_minor == 10_000 - site.blue_receipt.total_minor
    assert "€" in page


def test_a_status_filter_probes_a_bounded_window_and_offers_to_search_older(site: Site, finance, monkeypatch):
    from leadbill.console.views import deliveries

    monkeypatch.setattr(deliveries, "STATUS_SCAN", 10)
    make_deliveries(site.acme, 25, JAN + timedelta(days=40))  # newer, unbilled
    first = finance.get("/console/leadco/deliveries/", {"status": "billed", "partner": "acme"})
    assert first.context["rows"] == [] and "Search older deliveries" in text(first)
    found, url, pages = [], first.context["next_url"], 0
    while url and pages < 10:
        page = finance.get("/console/leadco/deliveries/" + url)
        found += page.context["rows"]
        url, pages = page.context["next_url"], pages + 1
    assert len(found) == 3 and all(d.is_billed for d in found)  # the three January leads, none twice


def test_with_many_partners_the_filter_takes_a_code(site: Site, finance, monkeypatch):
    from leadbill.console import lookups

    monkeypatch.setattr(lookups, "PARTNER_SELECT_MAX", 1)
    for url in ("/console/leadco/deliveries/", "/console/leadco/invoices/"):
        page = text(finance.get(url, {"partner": "acme"}))
        assert '<input id="f-partner" name="partner" value="acme"' in page


def test_drafts_are_issued_or_discarded_from_their_page(site: Site, finance):
    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue

    for code in ("mar-a", "mar-b"):
        partner = make_partner(site.entity, code=code)
        make_plan(partner)
        make_deliveries(partner, 2, JAN.replace(month=3))
    drafts = invoice_run_issue(actor="t", entity=site.entity, period=periods.month(2026, 3, "UTC"), draft=True).issued
    first, second = (f"draft-{d.pk}" for d in drafts)
    issued = finance.post(f"/console/leadco/invoices/{first}/issue/", follow=True)
    assert "Issued as INV-" in text(issued)
    gone = finance.post(f"/console/leadco/invoices/{second}/discard/", follow=True)
    assert "Draft discarded" in text(gone) and gone.redirect_chain[-1][0] == "/console/leadco/invoices/"
    assert not Invoice.objects.filter(pk=drafts[1].pk, status="draft").exists()
    number = Invoice.objects.get(pk=drafts[0].pk).number
    again = finance.post(f"/console/leadco/invoices/{number}/discard/", follow=True)
    assert "Not discarded" in text(again)
    assert Invoice.objects.get(pk=drafts[0].pk).status == "issued"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"amount": "1.00", "paid_on": "0001-01-01"}, "paid_on:"),
        ({"amount": "1.00", "paid_on": "1 March"}, "paid_on: give a date as YYYY-MM-DD"),
        ({"amount": "99999999999999999"}, "amount:"),
        ({"amount": "12,50"}, "amount:"),
    ],
)
def test_payment_input_errors_name_the_field_and_record_nothing(site: Site, finance, form, message):
    url = f"/console/leadco/invoices/{site.acme_invoice.number}/payments/"
    page = text(finance.post(url, form, follow=True))
    assert f"Payment not recorded: {message}" in page
    assert Invoice.objects.get(pk=site.acme_invoice.pk).paid_minor == 0


def test_top_up_input_errors_name_the_field(site: Site, finance):
    page = text(finance.post("/console/leadco/partners/blue/topups/", {"amount": "10.00", "received_on": "0001-01-01"},
                             follow=True))  # fmt: skip
    assert "Top-up not recorded: received_on:" in page
    page = text(finance.post("/console/leadco/partners/blue/topups/", {"amount": ""}, follow=True))
    assert "Top-up not recorded: amount: give an amount" in page
    assert LedgerEntry.objects.filter(partner=site.blue, kind="topup").count() == 1
