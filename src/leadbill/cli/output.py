"""Printing helpers shared by the commands: JSON for tools, tables and amounts for people.

Tables are Rich tables fitted to the terminal: columns of numbers, amounts, dates and
document numbers are never cut or wrapped (they are what people copy and compare), text
columns wrap, and when even that cannot fit, the lesser columns each table names are
dropped, in its order, with a line saying which (`--json` always has everything).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from leadbill.domain.money import minor_to_decimal
from leadbill.domain.numbers import whole_number


def _width() -> int | None:
    """COLUMNS when set (tests, `COLUMNS=80 leadbill ...`), the terminal's own, or 150 for pipes and CI logs."""
    columns = whole_number(os.environ.get("COLUMNS", ""), max_digits=4)
    if columns is not None and 20 <= columns <= 1000:
        return columns
    return None if sys.stdout.isatty() else 150


console = Console(width=_width(), highlight=False)

# What a column costs beside its text: the (blank) divider and a space of padding on each side.
_GAP = 3
# A wrapping column keeps this much room (or its longest text, if shorter) before lesser columns give way.
_MIN_WRAP = 12


def amount(minor: int | None, currency: str) -> str:
    """Money for people: '1,234.50 USD', '-25.00 EUR', '1,200 JPY' (the currency's own decimals)."""
    if minor is None:
        return "-"
    return f"{minor_to_decimal(minor, currency):,} {currency}"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    try:
        json.dump(data, sys.stdout, indent=2, default=_default, ensure_ascii=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `leadbill ... --json | head` closed the pipe: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return str(value)


def fit_columns(
    widths: Sequence[int], headers: Sequence[str], whole: set[int], drop: Sequence[int], width: int
) -> tuple[list[int], int]:
    """The columns to show at `width` (all, or all but the first of `drop`, ...) and the width they need."""
    shown = list(range(len(widths)))

    def needed() -> int:
        total = 0
        for i in shown:
            if i in whole:
                total += max(widths[i], len(headers[i]))
            else:
                total += min(max(widths[i], len(headers[i])), _MIN_WRAP)
        return total + _GAP * (len(shown) - 1)

    for index in drop:
        if needed() <= width:
            break
        shown.remove(index)
    return shown, needed()


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    right: Sequence[int] = (),
    keep: Sequence[int] = (),
    drop: Sequence[int] = (),
    target: Console | None = None,
) -> None:
    """A table that stays readable at any width.

    right: right-aligned columns (counts and amounts); they are never cut.
    keep:  other columns never cut (numbers of documents, dates, codes).
    drop:  lesser columns, dropped in this order while the table does not fit.
    """
    out = target or console
    cells = [[_cell(value) for value in row] for row in rows]
    whole = set(right) | set(keep)
    widths = [max((len(row[i]) for row in cells), default=0) for i in range(len(columns))]
    shown, needed = fit_columns(widths, columns, whole, drop, out.width)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for i in shown:
        if i in whole:
            table.add_column(
                columns[i],
                justify="right" if i in right else "left",
                no_wrap=True,
                min_width=max(widths[i], len(columns[i])),
            )
        else:
            table.add_column(columns[i], overflow="fold", min_width=min(max(widths[i], len(columns[i])), _MIN_WRAP))
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    # Narrower than even the kept columns: print wider and let the terminal wrap, but never cut a number.
    available = out.width
    if needed > available:
        out.width = needed
    try:
        out.print(table, crop=False)
    finally:
        out.width = available
    dropped = [columns[i] for i in range(len(columns)) if i not in shown]
    if dropped:
        out.print(
            f"[dim](not shown at {available} columns: {', '.join(dropped)}; widen the terminal or use --json)[/dim]"
        )
