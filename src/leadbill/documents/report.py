"""The invoice report: every lead delivered to one partner in a date range, with what it was billed.

One row per delivery: when, which lead, lead type, profile, the partner's chosen lead fields,
the billed price and invoice, and whether it was returned (why) and credited (where). For an
invoiced period the billed prices of the report sum exactly to that invoice's charge lines,
because both come from the per-lead amounts stored at issue (BilledLead).

Only issued documents bill or credit a lead here. A draft is the business's work in progress
(the portal never shows one), so its prices and credits read as not billed yet. A void invoice
is owed by nobody: a lead it kept (voided with leads="cancel") reads as "<number> (void)" with
no price, and so do its rows in its own `?invoice=` report, so the billed total says what is owed.

The CSV streams in constant memory. On PostgreSQL it is the database's own `COPY ... TO
STDOUT` of the report query, passed through chunk by chunk; elsewhere rows are fetched in
chunks and written by the csv module. The PDF reads the same rows.

Text cells that a spreadsheet would run as a formula (a return reason or lead field starting
with `=`, `+`, `-`, `@`, tab, CR) get a leading apostrophe in both paths (leadbill.domain.csvsafe);
amounts are written as numbers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from leadbill.catalog.models import LeadType
from leadbill.domain import csvsafe, periods
from leadbill.domain.errors import DomainError
from leadbill.domain.money import exponent, minor_to_decimal
from leadbill.invoicing.facts import OVER_CAP_SCOPE
from leadbill.invoicing.models import Status
from leadbill.partners.models import Partner
from leadbill.rawsql import db_datetime, sql_false

FIXED_COLUMNS = ("delivered_at", "lead_id", "lead_type", "profile")
MONEY_COLUMNS = (
    "billed_price",
    "currency",
    "invoice",
    "return_status",
    "return_reason",
    "credited",
    "credit_document",
    "cap",
)
CHUNK = 5_000
PDF_ROW_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class ReportQuery:
    partner: Partner
    first_day: date
    last_day: date
    lead_type: LeadType | None = None
    # One invoice's report: exactly the leads it billed (its BilledLead rows, voided too once
    # the invoice is void, then shown as void), whatever their delivery dates; the dates then
    # only name its period.
    invoice_id: int | None = None

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise DomainError(f"the range ends ({self.last_day}) before it starts ({self.first_day})", field="to")

    @property
    def period(self) -> periods.Period:
        return periods.date_range(self.first_day, self.last_day, self.partner.entity.timezone)

    @property
    def field_names(self) -> list[str]:
        return [str(f) for f in (self.partner.report_fields or [])]

    @property
    def header(self) -> list[str]:
        taken = set(FIXED_COLUMNS) | set(MONEY_COLUMNS)
        fields = [f"field_{f}" if f in taken else f for f in self.field_names]
        return [*FIXED_COLUMNS, *fields, *MONEY_COLUMNS]


def _live(alias: str) -> str:
    """`alias` is not voided, spelled as the partial unique indexes' condition (`WHERE "voided" = 0` on SQLite).

    SQLite uses a partial index only when the query repeats the index's condition term for
    term: with `NOT bl.voided` the billed-lead join scanned the whole table once per delivery
    (quadratic: 1,000 leads against 300,000 billed took 48 s). PostgreSQL reads `voided = false`
    as `NOT voided`, its index's condition. Guarded by a query-plan test.
    """
    return f"{alias}.voided = {sql_false()}"


def _sql(q: ReportQuery, *, select: list[str]) -> tuple[str, list[Any]]:
    if q.invoice_id is not None:
        params: list[Any] = [q.partner.pk, q.invoice_id]
        where = "d.partner_id = %s AND bl.invoice_id = %s"
        billed = "JOIN invoicing_billedlead bl ON bl.delivery_id = d.id"
    else:
        params = [q.partner.pk, db_datetime(q.period.start), db_datetime(q.period.end)]
        where = "d.partner_id = %s AND d.delivered_at >= %s AND d.delivered_at < %s"
        billed = f"LEFT JOIN invoicing_billedlead bl ON bl.delivery_id = d.id AND {_live('bl')}"
    if q.lead_type is not None:
        where += " AND d.lead_type_id = %s"
        params.append(q.lead_type.pk)
    sql = f"""
        SELECT {", ".join(select)}
        FROM deliveries_delivery d
        JOIN catalog_leadtype lt ON lt.id = d.lead_type_id
        LEFT JOIN partners_profile pr ON pr.id = d.profile_id
        {billed}
        LEFT JOIN invoicing_invoice i ON i.id = bl.invoice_id
        LEFT JOIN deliveries_return r ON r.delivery_id = d.id AND r.status IN ('requested', 'accepted')
        LEFT JOIN invoicing_creditedlead cl ON cl.billed_id = bl.id AND {_live("cl")}
        LEFT JOIN invoicing_invoice ci ON ci.id = cl.invoice_id
        LEFT JOIN invoicing_invoiceline bll ON bll.id = bl.line_id
        LEFT JOIN invoicing_excludedlead xl ON xl.delivery_id = d.id AND {_live("xl")}
        LEFT JOIN invoicing_invoice xi ON xi.id = xl.invoice_id
        WHERE {where}
        ORDER BY d.delivered_at, d.id
    """
    return sql, params


def _issued(alias: str) -> str:
    """The document `alias` is issued and stands: neither a draft nor void (paid and written off still bill)."""
    return f"{alias}.status NOT IN ('{Status.DRAFT.value}', '{Status.VOID.value}')"


# The money columns, one spelling for the rows (PDF, CSV on SQLite) and PostgreSQL's COPY, so the
# files and their totals agree. A lead is billed only by a live BilledLead on an issued document;
# its credit counts only while that charge stands and the crediting document is issued too.
BILLED_SQL = f"CASE WHEN {_issued('i')} THEN bl.amount_minor END"
INVOICE_SQL = f"CASE WHEN i.status = '{Status.VOID.value}' THEN i.number || ' (void)' ELSE i.number END"
_CREDIT_STANDS = f"{_issued('i')} AND {_issued('ci')}"
CREDITED_SQL = f"CASE WHEN {_CREDIT_STANDS} THEN cl.amount_minor END"
CREDIT_DOCUMENT_SQL = f"CASE WHEN {_CREDIT_STANDS} THEN ci.number END"

# What a cap policy did to the lead: left out of an invoice, or billed at the over-cap price.
# (A draft has no number yet, so a draft's exclusion reads as nothing.)
CAP_SQL = f"""CASE WHEN xl.id IS NOT NULL THEN 'excluded over cap on ' || xi.number
                  WHEN bll.scope LIKE '%%{OVER_CAP_SCOPE}' AND {_issued("i")} THEN 'over-cap price' END"""

_RAW_SELECT = [
    "d.delivered_at",
    "d.lead_id",
    "lt.code",
    "pr.code",
    "d.fields",
    BILLED_SQL,
    "d.currency",
    INVOICE_SQL,
    "r.status",
    "r.reason",
    CREDITED_SQL,
    CREDIT_DOCUMENT_SQL,
    CAP_SQL,
]


class Lead(NamedTuple):
    """One report row with its values typed: amounts in minor units (credits negative)."""

    delivered_at: datetime  # in the entity's time zone
    lead_id: str
    lead_type: str
    profile: str
    fields: list[str]
    billed_minor: int | None
    currency: str
    invoice: str
    return_status: str
    return_reason: str
    credited_minor: int | None
    credit_document: str
    cap: str = ""


def leads(q: ReportQuery) -> Iterator[Lead]:
    """The report's rows, fetched in chunks (server-side cursor on PostgreSQL)."""
    tz = ZoneInfo(q.partner.entity.timezone)
    names = q.field_names
    sql, params = _sql(q, select=_RAW_SELECT)
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK):
            for row in batch:
                at, lead_id, lt, profile, fields, billed, currency, inv, r_status, r_reason, credited, cdoc, cap = row
                if isinstance(at, str):  # SQLite hands back text
                    at = datetime.fromisoformat(at)
                if at.tzinfo is None:
                    at = at.replace(tzinfo=UTC)
                if isinstance(fields, str):
                    fields = json.loads(fields) if fields else {}
                fields = fields or {}
                yield Lead(
                    at.astimezone(tz), lead_id, lt, profile or "", [_text(fields.get(n)) for n in names],
                    billed, currency, inv or "", r_status or "", r_reason or "",
                    None if credited is None else -credited, cdoc or "", cap or "",
                )  # fmt: skip


def rows(q: ReportQuery) -> Iterator[list[str | Decimal]]:
    """The report's rows as the CSV writes them: amounts as Decimal (written as numbers), ISO times with offset."""
    for lead in leads(q):
        yield [
            lead.delivered_at.isoformat(timespec="seconds"),
            lead.lead_id,
            lead.lead_type,
            lead.profile,
            *lead.fields,
            "" if lead.billed_minor is None else minor_to_decimal(lead.billed_minor, lead.currency),
            lead.currency,
            lead.invoice,
            lead.return_status,
            lead.return_reason,
            "" if lead.credited_minor is None else minor_to_decimal(lead.credited_minor, lead.currency),
            lead.credit_document,
            lead.cap,
        ]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def csv_chunks(q: ReportQuery) -> Iterator[bytes]:
    """The CSV (UTF-8, header first) in chunks; memory stays flat whatever the row count.

    Formula-like text cells are neutralised (csvsafe); amounts stay plain numbers.
    """
    if connection.vendor == "postgresql":
        yield from _copy_chunks(q)
        return
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer, lineterminator="\n")
    writer.writerow(q.header)
    for i, row in enumerate(rows(q), 1):
        writer.writerow(row)
        if i % 2_000 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _copy_chunks(q: ReportQuery) -> Iterator[bytes]:
    """PostgreSQL formats and writes the CSV itself; we pass its chunks on."""
    from psycopg import sql as psql

    places = exponent(q.partner.currency)
    divisor = psql.Literal(Decimal(10) ** places)

    def money(column: str) -> psql.Composable:
        return psql.SQL("round({} / {}, {})").format(psql.SQL(column + "::numeric"), divisor, psql.Literal(places))

    def text(expr: psql.Composable) -> psql.Composable:  # csvsafe's rule, in the database
        return psql.SQL(csvsafe.sql_cell("({0})")).format(expr)

    select = [
        psql.SQL("""to_char(d.delivered_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')"""),
        text(psql.SQL("d.lead_id")),
        text(psql.SQL("lt.code")),
        text(psql.SQL("pr.code")),
        *(text(psql.SQL("d.fields ->> {}").format(psql.Literal(n))) for n in q.field_names),
        money(f"({BILLED_SQL})"),
        text(psql.SQL("d.currency")),
        text(psql.SQL(INVOICE_SQL)),
        text(psql.SQL("r.status")),
        text(psql.SQL("r.reason")),
        money(f"-({CREDITED_SQL})"),
        text(psql.SQL(CREDIT_DOCUMENT_SQL)),
        text(psql.SQL(CAP_SQL)),  # its "%%" reads as "%" to LIKE whether or not it is unescaped
    ]
    sql, params = _sql(q, select=["{}"] * len(select))
    query = psql.SQL(sql.replace("%s", "{}")).format(*select, *(psql.Literal(p) for p in params))
    header = ",".join(_csv_cell(h) for h in q.header) + "\n"
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(psql.SQL("SET LOCAL TIME ZONE {}").format(psql.Literal(q.partner.entity.timezone)))
        yield header.encode("utf-8")
        copy_sql = psql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)
        with raw.copy(copy_sql) as copy:
            for chunk in copy:
                yield bytes(chunk)


def _csv_cell(text: str) -> str:
    out = io.StringIO()
    csvsafe.writer(out, lineterminator="").writerow([text])
    return out.getvalue()


def pdf_payload(q: ReportQuery) -> dict[str, Any]:
    from leadbill.documents.formatting import Formatter

    entity = q.partner.entity
    f = Formatter(entity.locale, q.partner.currency)
    table: list[list[str]] = []
    billed_minor = credited_minor = 0
    for lead in leads(q):
        if len(table) >= PDF_ROW_LIMIT:
            raise DomainError(
                f"more than {PDF_ROW_LIMIT:,} leads: too many for a PDF; ask for the CSV or a shorter range",
                field="format",
            )
        billed_minor += lead.billed_minor or 0
        credited_minor += lead.credited_minor or 0
        returned = f"{lead.return_status}: {lead.return_reason}" if lead.return_status else ""
        credited = ""
        if lead.credited_minor is not None:
            credited = f.money(lead.credited_minor) + (f" ({lead.credit_document})" if lead.credit_document else "")
        table.append([
            lead.delivered_at.strftime("%Y-%m-%d %H:%M"), lead.lead_id, lead.lead_type, lead.profile, *lead.fields,
            f.money(lead.billed_minor) if lead.billed_minor is not None else "",
            " \u00b7 ".join(x for x in (lead.invoice, lead.cap) if x), returned, credited,
        ])  # fmt: skip
    n_fields = len(q.field_names)
    columns = [*q.header[: 4 + n_fields], "billed_price", "invoice", "return", "credited"]
    return {
        "title": "Invoice report",
        "entity": entity.legal_name,
        "partner": q.partner.legal_name or q.partner.name,
        "range": f.period(q.first_day, q.last_day),
        "lead_type": q.lead_type.name if q.lead_type else "all lead types",
        "columns": columns,
        "rows": table,
        "summary": [
            ["Leads", f.count(len(table))],
            ["Billed", f.money(billed_minor)],
            ["Credited for returns", f.money(credited_minor)],
            ["Net", f.money(billed_minor + credited_minor)],
        ],
        "lang": entity.locale.split("_")[0],
    }


def report_pdf(q: ReportQuery) -> bytes:
    from leadbill.documents.pdf import workspace

    payload = pdf_payload(q)
    when = datetime.combine(q.last_day, datetime.min.time(), tzinfo=UTC)
    return workspace().compile("report", {"report": json.dumps(payload)}, when=when)
