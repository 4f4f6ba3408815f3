"""Held documents in the console: the delivery summary names them, finance releases them, the run page lists them."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from django.utils.html import strip_tags

from leadbill.audit.models import AuditEvent
from leadbill.invoicing.models import InvoiceRun, SafetyRelease
from tests.factories import make_deliveries, make_plan
from tests.webworld import STAFF, Site

URL = "/console/leadco/runs/"
MARCH = datetime(2026, 3, 4, 9, tzinfo=UTC)


def plain(response) -> str:
    return " ".join(strip_tags(html.unescape(response.content.decode())).split())


@pytest.fixture
def typo(site: Site) -> Site:
    """Acme's plan from March says 200.00 where 2.00 was meant; January was billed at 2.00."""
    make_plan(site.acme, config={"price": "200.00"}, effective_from=datetime(2026, 3, 1, tzinfo=UTC))
    make_deliveries(site.acme, 3, MARCH)
    return site


def test_a_held_partner_is_named_with_its_reasons_and_not_counted_to_issue(typo: Site):
    finance = typo.login(STAFF["finance"])
    page = finance.get(URL + "preview/", {"period": "2026-03"})
    words = plain(page)
    assert "Held by safety bounds" in words and "1 held" in words
    assert "Held: unit price 200.00 on \u201cLeads \u2014 flat\u201d is more than 10\u00d7 above the 2.00" in words
    assert page.context["to_issue"] == 0 and "Issue 0 documents" in words
    body = page.content.decode()
    assert 'name="held_partner" value="acme"' in body and 'name="reason"' in body and "required" in body


def test_finance_releases_with_a_reason_and_the_release_is_audited(typo: Site):
    finance = typo.login(STAFF["finance"])
    form = {"period": "2026-03", "held_partner": "acme", "seen_total": "71400"}
    refused = finance.post(URL + "release/", {**form, "reason": " "}, follow=True)
    assert "Not released" in plain(refused) and not SafetyRelease.objects.exists()
    stale = finance.post(URL + "release/", {**form, "seen_total": "1", "reason": "typo checked"}, follow=True)
    assert "changed since it was shown" in plain(stale) and not SafetyRelease.objects.exists()
    done = finance.post(URL + "release/", {**form, "reason": "Premium leads agreed for March"})
    assert done.status_code == 302 and done["Location"] == URL + "preview/?period=2026-03#held"
    release = SafetyRelease.objects.get()
    assert (release.partner, release.total_minor) == (typo.acme, 71_400)
    assert release.released_by == "user:" + STAFF["finance"]
    assert AuditEvent.objects.get(action="safety_bounds.released").data["reason"] == "Premium leads agreed for March"
    page = finance.get(URL + "preview/", {"period": "2026-03"})
    assert "Held by safety bounds" not in plain(page) and page.context["to_issue"] == 1


def test_readonly_staff_see_the_reasons_but_cannot_release(typo: Site):
    readonly = typo.login(STAFF["readonly"])
    page = readonly.get(URL + "preview/", {"period": "2026-03"})
    assert "Held: unit price 200.00" in plain(page) and 'name="held_partner"' not in page.content.decode()
    refused = readonly.post(URL + "release/", {"period": "2026-03", "held_partner": "acme", "reason": "mine"})
    assert refused.status_code == 403 and not SafetyRelease.objects.exists()


def test_the_run_page_lists_held_partners_with_a_link_to_release_them(typo: Site, django_capture_on_commit_callbacks):
    finance = typo.login(STAFF["finance"])
    with django_capture_on_commit_callbacks(execute=True):
        started = finance.post(URL + "issue/", {"period": "2026-03"})
    run = InvoiceRun.objects.latest("pk")
    assert started["Location"] == f"{URL}{run.pk}/" and run.summary["held"]["acme"]
    page = finance.get(f"{URL}{run.pk}/")
    assert "Held by safety bounds (not issued):acme: unit price 200.00" in plain(page)
    assert 'href="/console/leadco/runs/preview/?period=2026-03&amp;partner=acme#held-acme"' in page.content.decode()


def test_finance_sets_the_thresholds_on_the_automation_page(site: Site):
    finance = site.login(STAFF["finance"])
    url = "/console/leadco/automation/safety-bounds/"
    saved = finance.post(url, {"total_multiple": "4", "unit_price_multiple": "", "limit": "1,000.50"}, follow=True)
    assert "Safety bounds saved" in plain(saved)
    site.entity.refresh_from_db()
    assert (site.entity.bound_total_multiple, site.entity.bound_unit_price_multiple) == (4, None)
    assert site.entity.bound_limit_minor == 100_050
    assert 'value="1,000.50"' in saved.content.decode()
    bad = finance.post(url, {"total_multiple": "²", "unit_price_multiple": "10", "limit": ""}, follow=True)
    assert "Safety bounds not saved" in plain(bad)
    site.entity.refresh_from_db()
    assert site.entity.bound_total_multiple == 4
