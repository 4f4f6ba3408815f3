"""Issue 18: manual invoices and the cap policy from the console."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadbill.domain import periods
from leadbill.domain.generation import ManualLine
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import manual_invoice_create
from leadbill.partners.models import Partner
from tests.factories import make_deliveries
from tests.webworld import STAFF, Site

URL = "/console/leadco/manual-invoices/new/"


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


def text(response) -> str:
    return response.content.decode()


def lines(**rows: tuple[str, str, str, str]) -> dict[str, str]:
    out = {"rows": str(len(rows))}
    for i, (description, quantity, price, rate) in enumerate(rows.values()):
        out |= {f"description_{i}": description, f"quantity_{i}": quantity, f"unit_price_{i}": price,
                f"tax_rate_{i}": rate}  # fmt: skip
    return out


def test_the_form_lists_the_buyers_and_starts_with_empty_lines(site: Site, finance):
    page = text(finance.get(URL + "?partner=acme"))
    assert 'value="acme" selected' in page and "Acme Insurance" in page
    assert 'name="description_2"' in page and "19.00 %" in page  # the partner's rate is the default


def test_errors_name_the_line_and_field_and_keep_what_was_typed(site: Site, finance):
    form = {"partner": "acme", "period": "2026-01", "action": "draft",
            **lines(a=("Set-up fee", "1", "250.00", ""), b=("Extra leads", "many", "1.50", "19"))}  # fmt: skip
    response = finance.post(URL, form)
    page = text(response)
    assert response.status_code == 422
    assert "line 2, quantity: a whole number" in page
    assert 'value="Set-up fee"' in page and 'value="many"' in page and 'aria-invalid="true"' in page
    assert not Invoice.objects.filter(manual=True).exists()


def test_add_a_line_keeps_the_lines_typed(site: Site, finance):
    form = {"partner": "acme", "period": "2026-01", "action": "add", **lines(a=("Set-up fee", "1", "250", ""))}
    page = text(finance.post(URL, form))
    assert 'name="description_1"' in page and 'value="Set-up fee"' in page


def test_finance_issues_a_manual_invoice_through_the_invoice_series(site: Site, finance):
    form = {"partner": "acme", "period": "2026-01", "action": "issue",
            **lines(a=("Set-up fee", "1", "1,250.00", ""), b=("Brochures", "3", "10.10", "7"), c=("", "", "", ""))}  # fmt: skip
    response = finance.post(URL, form)
    inv = Invoice.objects.get(manual=True)
    assert response.status_code == 302 and response["Location"] == f"/console/leadco/invoices/{inv.number}/"
    assert inv.number.startswith("INV-") and inv.status == "issued"
    assert [(line.quantity, line.amount_minor, line.tax_rate_bp) for line in inv.lines.order_by("position")] == [
        (1, 125_000, 1900), (3, 3_030, 700),
    ]  # fmt: skip
    page = text(finance.get(response["Location"]))
    assert "manual</span>" in page and "Brochures" in page


def test_a_draft_is_saved_for_review_and_readonly_staff_cannot_write(site: Site, finance):
    form = {"partner": "acme", "period": "2026-01", "action": "draft", **lines(a=("Fee", "1", "5", "0"))}
    response = finance.post(URL, form)
    inv = Invoice.objects.get(manual=True)
    assert response["Location"] == f"/console/leadco/invoices/draft-{inv.pk}/" and inv.number is None
    assert site.login(STAFF["readonly"]).post(URL, form).status_code == 403


def test_the_partner_form_sets_the_cap_policy_and_a_form_without_it_keeps_it(site: Site, finance):
    form = {"code": "acme", "name": "Acme Insurance", "billing_mode": "credit", "active": "on", "is_buyer": "on",
            "country": "DE", "cap_monthly": "600", "cap_policy": "price", "over_cap_price": "0.75"}  # fmt: skip
    response = finance.post("/console/leadco/partners/acme/edit/", form)
    assert response.status_code == 302, response.context["form"].errors
    acme = Partner.objects.get(pk=site.acme.pk)
    assert (acme.cap_monthly, acme.cap_policy, acme.over_cap_price_micros) == (600, "price", 750_000)
    edit = text(finance.get("/console/leadco/partners/acme/edit/"))
    assert 'value="0.75"' in edit and '<option value="price" selected>' in edit
    older = {k: v for k, v in form.items() if k not in ("cap_policy", "over_cap_price")}
    assert finance.post("/console/leadco/partners/acme/edit/", older).status_code == 302
    acme.refresh_from_db()
    assert (acme.cap_policy, acme.over_cap_price_micros) == ("price", 750_000)
    bad = finance.post("/console/leadco/partners/acme/edit/", {**form, "over_cap_price": ""})
    assert bad.status_code == 200 and 'id="id_over_cap_price_error"' in text(bad)
    assert "billed at" in text(finance.get("/console/leadco/partners/acme/"))


def test_the_preview_shows_what_an_exclude_policy_leaves_out(site: Site, finance):
    acme = site.acme
    acme.cap_daily, acme.cap_policy = 2, "exclude"
    acme.save()
    make_deliveries(acme, 5, datetime(2026, 2, 3, 9, tzinfo=UTC))
    page = text(finance.get("/console/leadco/runs/preview/?period=2026-02"))
    assert "3 leads over cap left out (6.00 EUR not billed)" in page


def test_invoice_list_reads_a_fixed_number_of_queries(site: Site, finance, django_assert_max_num_queries):
    period = periods.month(2026, 3, "UTC")
    for _ in range(30):
        manual_invoice_create(actor="test", partner=site.acme, period=period,
                              lines=[ManualLine("Fee", 1, Decimal("5"), Decimal("0"))],
                              issue=True)  # fmt: skip
    with django_assert_max_num_queries(12):
        response = finance.get("/console/leadco/invoices/")
    assert response.status_code == 200 and text(response).count("INV-0000") >= 30
