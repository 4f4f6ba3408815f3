"""CSV downloads from the console and portal cannot carry live spreadsheet formulas (OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from leadbill.deliveries.models import Delivery, Return
from leadbill.domain.csvsafe import FORMULA_STARTS
from tests.factories import make_deliveries
from tests.webworld import ACME_USER, JAN, STAFF, Site

PAYLOADS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\t=1", "\r=1"]
NEUTRALISED = {"'" + p for p in PAYLOADS}


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


def read(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))


def no_live_formula(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for key, value in row.items():
            assert not value.startswith(FORMULA_STARTS), (key, value)


def test_deliveries_export_prefixes_formula_text_and_keeps_prices_numeric(site: Site, finance):
    poisoned = make_deliveries(site.acme, len(PAYLOADS), JAN + timedelta(days=40), price="2.50")
    for delivery, payload in zip(poisoned, PAYLOADS, strict=True):
        Delivery.objects.filter(pk=delivery.pk).update(external_id="x" + payload, lead_id=payload)
    rows = read(finance.get("/console/leadco/deliveries/export.csv", {"partner": "acme"}))
    assert len(rows) == 3 + len(PAYLOADS)
    assert {r["lead_id"] for r in rows if r["price"]} == NEUTRALISED
    assert {r["external_id"] for r in rows if r["price"]} == {"x" + p for p in PAYLOADS}  # not at the start: as is
    assert {Decimal(r["price"]) for r in rows if r["price"]} == {Decimal("2.50")}
    no_live_formula(rows)


def _poison_acme(site: Site) -> None:
    leads = list(Delivery.objects.filter(partner=site.acme).order_by("delivered_at", "id"))
    for lead, payload in zip(leads, PAYLOADS, strict=False):
        Delivery.objects.filter(pk=lead.pk).update(fields={"zip": payload})
    Return.objects.filter(pk=site.acme_return.pk).update(reason=PAYLOADS[0])


@pytest.mark.parametrize("who", ["console", "portal"])
def test_report_download_prefixes_formula_text_and_keeps_prices_numeric(site: Site, who: str):
    _poison_acme(site)
    query = {"download": "1", "from": "2026-01-01", "to": "2026-01-31", "format": "csv"}
    if who == "console":
        response = site.login(STAFF["finance"]).get("/console/leadco/partners/acme/report/", query)
    else:
        response = site.login(ACME_USER).get("/portal/report/", query)
    rows = read(response)
    assert len(rows) == 3
    assert {r["zip"] for r in rows} == {"'" + p for p in PAYLOADS[:3]}
    assert [r["return_reason"] for r in rows if r["return_reason"]] == ["'" + PAYLOADS[0]]
    assert [Decimal(r["billed_price"]) for r in rows] == [Decimal("2.00")] * 3
    no_live_formula(rows)
