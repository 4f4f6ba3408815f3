"""The invoice report CSV is safe to open in a spreadsheet, and its billed-lead join uses an index on SQLite."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from leadbill.cli.main import main
from leadbill.deliveries.models import Delivery, Return
from leadbill.documents.report import _RAW_SELECT, ReportQuery, _sql, csv_chunks
from leadbill.domain import csvsafe

pytestmark = pytest.mark.django_db

# OWASP "CSV Injection": what a partner could type into a lead field or a return reason.
PAYLOADS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\t=1", "\r=1"]


def test_cell_prefixes_formula_text_and_leaves_numbers_alone():
    for text in PAYLOADS:
        assert csvsafe.cell(text) == "'" + text
    for text in ("plain", "", "2.50", "a=b", "'already", "wrong number"):
        assert csvsafe.cell(text) == text
    for number in (Decimal("-5.00"), -5, Decimal("2.50"), None):
        assert csvsafe.cell(number) is number


def _poison(history) -> tuple[str, list[str]]:
    """Payloads in a report field of six leads and in the reasons of six returns (two of them credited)."""
    partner = history.domestic.partner
    partner.report_fields = ["note"]
    partner.save()
    leads = list(Delivery.objects.filter(partner=partner).order_by("delivered_at", "id"))
    for lead, payload in zip(leads[10:16], PAYLOADS, strict=True):
        lead.fields = {**(lead.fields or {}), "note": payload}
        lead.save()
    credited = list(Return.objects.filter(delivery__partner=partner, status="accepted").order_by("delivery_id"))
    assert len(credited) == 2  # billed 2.00 and 1.50, credited on February's invoice
    for ret, payload in zip(credited, PAYLOADS[2:4], strict=True):
        ret.reason = payload
        ret.save()
    when = datetime(2026, 2, 5, tzinfo=UTC)
    for lead, payload in zip(leads[20:24], [*PAYLOADS[:2], *PAYLOADS[4:]], strict=True):
        Return.objects.create(entity_id=lead.entity_id, delivery=lead, reason=payload, requested_at=when)
    return partner.code, PAYLOADS


def _check(rows: list[dict[str, str]]) -> None:
    assert {r["note"] for r in rows if r["note"]} == {"'" + p for p in PAYLOADS}
    assert {r["return_reason"] for r in rows if r["return_reason"]} == {"'" + p for p in PAYLOADS}
    # Amounts are numbers, written plain: credits stay negative and sum.
    billed = [Decimal(r["billed_price"]) for r in rows if r["billed_price"]]
    credited = [Decimal(r["credited"]) for r in rows if r["credited"]]
    assert len(billed) == 142 and all(b > 0 for b in billed)
    assert sorted(credited) == [Decimal("-2.00"), Decimal("-1.50")]
    for row in rows:
        for key, value in row.items():
            assert not value.startswith(csvsafe.FORMULA_STARTS) or key == "credited", (key, value)


def test_report_csv_neutralises_formulas_and_keeps_amounts_numeric(history):
    _poison(history)
    q = ReportQuery(history.domestic.partner, date(2026, 1, 1), date(2026, 2, 28))
    text = b"".join(csv_chunks(q)).decode("utf-8")
    _check(list(csv.DictReader(io.StringIO(text, newline=""))))


def test_report_cli_neutralises_formulas(history, capsysbinary):
    code, _ = _poison(history)
    args = ["report", "--entity", history.entity.slug, "--partner", code, "--from", "2026-01-01", "--to", "2026-02-28"]
    assert main(args) == 0
    _check(list(csv.DictReader(io.StringIO(capsysbinary.readouterr().out.decode(), newline=""))))


def test_report_query_joins_billed_leads_through_an_index_on_sqlite(history):
    """`NOT bl.voided` does not match the partial index `WHERE "voided" = 0`: the join scanned the table per lead."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's partial-index matching; PostgreSQL proves NOT voided against its index itself")
    sql, params = _sql(ReportQuery(history.domestic.partner, date(2026, 1, 1), date(2026, 2, 28)), select=_RAW_SELECT)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = [row[-1] for row in cursor.fetchall()]
    for alias in ("bl", "cl"):
        steps = [s for s in plan if s.startswith((f"SEARCH {alias} ", f"SCAN {alias} ", f"SCAN {alias}"))]
        assert steps and all(s.startswith(f"SEARCH {alias} USING ") and "INDEX" in s for s in steps), plan
        assert not any("AUTOMATIC" in s for s in steps), plan
    assert any("SEARCH bl USING INDEX lead_billed_once" in s for s in plan), plan
