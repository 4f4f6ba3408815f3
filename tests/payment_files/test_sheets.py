"""Payout spreadsheets: xlsx and CSV read back with their lines, every text cell spreadsheet-safe."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from leadbill.domain import periods
from leadbill.payment_files.builders import sheets
from leadbill.payment_files.selectors import sheet_payouts, sheet_rows
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.payouts.selectors import payout_amounts
from tests.payment_files.conftest import ACTOR
from tests.payouts.conftest import compute, opt_in


def hostile(eur):
    """A payout whose line description and partner name a spreadsheet would run as formulas."""
    partner = eur.suppliers[0]
    partner.name = '=HYPERLINK("http://evil","x")'
    partner.save()
    return s.payout_create(actor=ACTOR, partner=partner, period=periods.month(2026, 9, "Europe/Berlin"),
                           lines=[s.ManualLine("+cmd|' /C calc'!A0", 2, Decimal("12.345")),
                                  s.ManualLine("@SUM(1)", 1, Decimal("1"))])  # fmt: skip


def test_the_xlsx_has_the_payouts_and_their_lines(eur):
    extra = hostile(eur)
    rows = sheet_rows(sheet_payouts(eur.entity))
    book = load_workbook(io.BytesIO(sheets.xlsx_bytes(rows)))
    payouts = list(book["Payouts"].iter_rows(values_only=True))
    assert payouts[0] == sheets.PAYOUT_COLUMNS and len(payouts) == 5
    by_id = {row[0]: row for row in payouts[1:]}
    assert by_id[eur.payouts[1].pk][10] == 250.55 and by_id[eur.payouts[1].pk][7] == "ready"
    assert by_id[extra.pk][2] == '\'=HYPERLINK("http://evil","x")'  # text, not a formula
    lines = list(book["Lines"].iter_rows(values_only=True))
    assert lines[0] == ("payout", "partner_code", "period", *sheets.LINE_COLUMNS)
    mine = [row for row in lines[1:] if row[0] == extra.pk]
    assert [(r[5], r[6], r[7], r[8]) for r in mine] == [("'+cmd|' /C calc'!A0", 2, 12.345, 24.69),
                                                         ("'@SUM(1)", 1, 1, 1)]  # fmt: skip
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)


def test_the_csv_has_a_row_per_line_with_safe_cells(eur):
    extra = hostile(eur)
    rows = sheet_rows(sheet_payouts(eur.entity, ids=[extra.pk, eur.payouts[0].pk]))
    table = list(csv.DictReader(io.StringIO(sheets.csv_bytes(rows).decode("utf-8"))))
    assert len(table) == 3  # the hostile payout's two lines, and the other's one
    mine = [r for r in table if r["payout"] == str(extra.pk)]
    assert [r["description"] for r in mine] == ["'+cmd|' /C calc'!A0", "'@SUM(1)"]
    assert {r["partner_name"] for r in mine} == {'\'=HYPERLINK("http://evil","x")'}
    assert [Decimal(r["amount"]) for r in mine] == [Decimal("24.69"), Decimal("1.00")]
    assert sum(Decimal(r["amount"]) for r in mine) == Decimal(mine[0]["net"])


def test_a_date_range_takes_the_payouts_whose_period_ends_in_it(eur):
    september = hostile(eur)
    qs = sheet_payouts(eur.entity, first_day=date(2026, 9, 1), last_day=date(2026, 9, 30))
    assert [p.pk for p in qs] == [september.pk]
    assert len(sheet_payouts(eur.entity, status="ready")) == 3


def test_a_pending_payout_shows_the_estimated_tax_as_the_pages_do_and_says_so(world):
    opt_in(world)
    payout = compute(world)
    s.payout_transition(actor=ACTOR, payout=payout, to="pending")
    (row,) = sheet_rows(sheet_payouts(world.entity, ids=[payout.pk]))
    shown = payout_amounts([Payout.objects.select_related("entity").get(pk=payout.pk)])[payout.pk]
    by_name = dict(zip(sheets.PAYOUT_COLUMNS, row.values, strict=True))
    assert (by_name["net"], by_name["tax"], by_name["total"], by_name["tax_estimated"]) == (
        Decimal("132.50"), Decimal("25.18"), Decimal("157.68"), True)  # fmt: skip
    assert (shown.net_minor, shown.tax_minor, shown.total_minor) == (13_250, 2_518, 15_768)
    s.payout_transition(
        actor=ACTOR, payout=payout, to="ready"
    )  # approving does not change what the sheet showed; the tax is now the self-invoice's
    (row,) = sheet_rows(sheet_payouts(world.entity, ids=[payout.pk]))
    assert row.values[8:11] == (Decimal("132.50"), Decimal("25.18"), Decimal("157.68")) and row.values[-1] is False
