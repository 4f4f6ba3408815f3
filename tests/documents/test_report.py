"""The per-lead invoice report: its sums reconcile with the invoices, and the CSV streams."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from pypdf import PdfReader

from leadbill.documents.report import ReportQuery, csv_chunks, leads, report_pdf
from leadbill.domain.errors import DomainError
from leadbill.partners.models import Partner
from tests.factories import make_entity, make_lead_type, make_partner

pytestmark = pytest.mark.django_db


def report_rows(q: ReportQuery) -> list[dict[str, str]]:
    text = b"".join(csv_chunks(q)).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def cents(text: str) -> int:
    return int(Decimal(text).scaleb(2)) if text else 0


def test_report_prices_sum_exactly_to_the_invoice_lines(history):
    partner = history.domestic.partner
    rows = report_rows(ReportQuery(partner, date(2026, 1, 1), date(2026, 2, 28)))
    for inv in (history.domestic, history.february):
        billed = [r for r in rows if r["invoice"] == inv.number]
        usage = [line for line in inv.lines.all() if line.kind in ("charge", "prior_period")]
        assert len(billed) == sum(line.quantity for line in usage) == inv.leads_billed
        assert sum(cents(r["billed_price"]) for r in billed) == sum(line.amount_minor for line in usage)
    # The two returns are credited on February's invoice, at exactly their billed prices.
    credited = [r for r in rows if r["credited"]]
    assert {r["credit_document"] for r in credited} == {history.february.number}
    credit_line = history.february.lines.get(kind="return_credit")
    assert sum(cents(r["credited"]) for r in credited) == credit_line.amount_minor == -350
    assert {(r["return_status"], r["return_reason"]) for r in credited} == {("accepted", "wrong number")}


def test_report_rows_carry_local_time_lead_fields_and_columns_in_order(db):
    entity = make_entity(timezone="America/New_York", currency="USD")
    partner = make_partner(entity, currency="USD", report_fields=["state", "zip", "lead_id"])
    auto, home = make_lead_type(entity, "auto"), make_lead_type(entity, "home")
    from leadbill.deliveries.models import Delivery

    Delivery.objects.create(
        entity_id=entity.pk, partner=partner, lead_type=auto, external_id="a", lead_id="L-1", currency="USD",
        delivered_at=datetime(2026, 3, 1, 4, 30, tzinfo=UTC), fields={"state": "TX", "zip": "78701", "lead_id": "x"},
    )  # fmt: skip
    Delivery.objects.create(
        entity_id=entity.pk, partner=partner, lead_type=home, external_id="b", lead_id="L-2", currency="USD",
        delivered_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC), fields={"state": "CA"},
    )  # fmt: skip
    q = ReportQuery(partner, date(2026, 2, 28), date(2026, 3, 2))
    text = b"".join(csv_chunks(q)).decode()
    header, first, second = text.splitlines()[:3]
    assert header == (
        "delivered_at,lead_id,lead_type,profile,state,zip,field_lead_id,"
        "billed_price,currency,invoice,return_status,return_reason,credited,credit_document,cap"
    )
    # 04:30 UTC on March 1 is still February 28 in New York: local time with its offset.
    assert first == "2026-02-28T23:30:00-05:00,L-1,auto,,TX,78701,x,,USD,,,,,,"
    assert second.startswith("2026-03-02T10:00:00-05:00,L-2,home,,CA,,,")
    only_home = report_rows(ReportQuery(partner, date(2026, 2, 28), date(2026, 3, 2), home))
    assert [r["lead_id"] for r in only_home] == ["L-2"]


def test_report_range_runs_from_local_midnight_to_local_midnight_on_every_database(db):
    """On SQLite too (the default), where the bounds are compared as text with the stored values."""
    entity = make_entity(timezone="America/New_York", currency="USD")
    partner = make_partner(entity, currency="USD")
    auto = make_lead_type(entity, "auto")
    from leadbill.deliveries.models import Delivery

    for lead_id, at in (
        ("before", datetime(2026, 3, 1, 4, 59, 59, 999_999, tzinfo=UTC)),  # 28 Feb 23:59:59.999999 EST
        ("first", datetime(2026, 3, 1, 5, 0, tzinfo=UTC)),  # 1 March 00:00 EST: the range's first instant
        ("last", datetime(2026, 4, 1, 3, 59, 59, 999_999, tzinfo=UTC)),  # 31 March 23:59:59.999999 EDT
        ("after", datetime(2026, 4, 1, 4, 0, tzinfo=UTC)),  # 1 April 00:00 EDT: the first instant after it
    ):
        Delivery.objects.create(entity_id=entity.pk, partner=partner, lead_type=auto, external_id=lead_id,
                                lead_id=lead_id, currency="USD", delivered_at=at)  # fmt: skip
    q = ReportQuery(partner, date(2026, 3, 1), date(2026, 3, 31))
    assert [lead.lead_id for lead in leads(q)] == ["first", "last"]
    assert [r["lead_id"] for r in report_rows(q)] == ["first", "last"]


def test_report_refuses_a_range_that_ends_before_it_starts(history):
    with pytest.raises(DomainError, match="before it starts"):
        ReportQuery(history.domestic.partner, date(2026, 2, 1), date(2026, 1, 1))


def test_report_pdf_lists_the_leads_and_their_sums(history):
    inv = history.domestic
    pdf = report_pdf(ReportQuery(inv.partner, date(2026, 1, 1), date(2026, 1, 31)))
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Invoice report" in text and "Elbe Versicherung AG" in text and "1.–31. Januar 2026" in text
    assert text.count(inv.number) == inv.leads_billed
    from leadbill.documents.formatting import Formatter

    assert Formatter("de_DE", "EUR").money(inv.subtotal_minor) in text  # "Billed" sums to the invoice's net


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _insert_leads(partner: Partner, count: int) -> None:
    lead_type = make_lead_type(partner.entity, "auto")
    cols = "entity_id, external_id, partner_id, lead_type_id, lead_id, delivered_at, currency, fields, created_at"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""INSERT INTO deliveries_delivery ({cols})
                    SELECT %s, 'x' || g, %s, %s, 'lead-' || g, '2026-01-01'::timestamptz + g * interval '2 seconds',
                           'EUR', jsonb_build_object('state', 'TX', 'zip', (10000 + g %% 89999)::text), now()
                      FROM generate_series(1, %s) g""",
                [partner.entity_id, partner.pk, lead_type.pk, count],
            )
        else:
            cursor.execute(
                f"""WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s)
                    INSERT INTO deliveries_delivery ({cols})
                    SELECT %s, 'x' || n, %s, %s, 'lead-' || n,
                           strftime('%%Y-%%m-%%d %%H:%%M:%%S', '2026-01-01', '+' || (n * 2) || ' seconds'),
                           'EUR', json_object('state', 'TX', 'zip', CAST(10000 + n %% 89999 AS TEXT)),
                           '2026-01-01 00:00:00'
                      FROM g""",
                [count, partner.entity_id, partner.pk, lead_type.pk],
            )


def test_csv_report_of_a_million_leads_streams_in_constant_memory(db):
    entity = make_entity(timezone="UTC")
    partner = make_partner(entity, report_fields=["state", "zip"])
    _insert_leads(partner, 1_000_000)
    q = ReportQuery(partner, date(2026, 1, 1), date(2026, 2, 28))
    baseline = peak = _rss_bytes()
    size = lines = 0
    for chunk in csv_chunks(q):
        size += len(chunk)
        lines += chunk.count(b"\n")
        peak = max(peak, _rss_bytes())
    assert lines == 1_000_001  # header + every lead
    # ~60 MB of CSV went through; holding the rows would take well over 500 MB.
    assert size > 55_000_000
    assert peak - baseline < 40_000_000, f"memory grew by {(peak - baseline) / 1e6:.0f} MB"
