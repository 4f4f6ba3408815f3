"""Tables fit the terminal without ever cutting a number, an amount or a document number."""

import io

from rich.console import Console

from leadbill.cli.output import amount, print_table

COLUMNS = ["Number", "Kind", "Status", "Partner", "Period", "Issued", "Due", "Total", "Paid"]
ROWS = [
    ["EU-000123", "credit note", "issued", "sonnenschein-energie-ag", "2026-03", "2026-04-01", "2026-04-15",
     "-12,345,678.90 EUR", "0.00 EUR"],
    ["EU-000124", "invoice", "paid", "alpen-leads", "2026-03", "2026-04-01", "2026-04-15", "6,717.50 EUR",
     "6,717.50 EUR"],
]  # fmt: skip


def render(width, **options):
    out = Console(width=width, file=io.StringIO(), highlight=False, color_system=None)
    print_table("Documents", COLUMNS, ROWS, target=out, **options)
    return out.file.getvalue()


def test_at_80_columns_numbers_and_amounts_stay_whole_and_lesser_columns_go_in_order():
    text = render(80, right=(7, 8), keep=(0, 2, 5, 6), drop=(1, 4, 8, 5))
    assert max(len(line) for line in text.splitlines()) <= 80
    for whole in ("EU-000123", "EU-000124", "-12,345,678.90 EUR", "6,717.50 EUR", "2026-04-15"):
        assert whole in text
    assert "…" not in text
    header = next(line for line in text.splitlines() if line.startswith("Number"))
    assert "Kind" not in header and "Period" not in header and "Paid" not in header
    assert "(not shown at 80 columns: Kind, Period, Paid;" in text


def test_a_wide_terminal_shows_every_column():
    text = render(200, right=(7, 8), keep=(0, 2, 5, 6), drop=(1, 4, 8, 5))
    header = next(line for line in text.splitlines() if line.startswith("Number"))
    assert all(column in header for column in COLUMNS)
    assert "not shown" not in text


def test_text_columns_wrap_instead_of_being_cut():
    text = render(80, right=(7, 8), keep=(0, 2, 5, 6), drop=(1, 4, 8, 5))
    assert "sonnenschein" in text and "energie-ag" in text.replace("\n", "").replace(" ", "")


def test_narrower_than_the_kept_columns_prints_wider_rather_than_cutting():
    text = render(40, right=(7, 8), keep=(0, 2, 5, 6), drop=(1, 4, 8, 5))
    assert "-12,345,678.90 EUR" in text and "EU-000123" in text and "…" not in text


def test_amounts_carry_their_currency_and_its_decimals():
    assert amount(123456789, "USD") == "1,234,567.89 USD"
    assert amount(-500, "EUR") == "-5.00 EUR"
    assert amount(1200, "JPY") == "1,200 JPY"
    assert amount(1234, "BHD") == "1.234 BHD"
    assert amount(None, "USD") == "-"
