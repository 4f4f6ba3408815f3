"""`leadbill import deliveries|returns FILE --entity SLUG`: load CSV files (docs/csv-import.md).

Exit status: 0 every row was imported or already present; 1 the file was imported
but some rows were bad (they are listed); 2 nothing was written (--all-or-nothing
with a bad row, or the file itself could not be read).
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from leadbill.cli.main import CommandError
from leadbill.cli.output import print_json

EXIT_OK = 0
EXIT_BAD_ROWS = 1
EXIT_REFUSED = 2


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import", help="import deliveries or returns from a CSV file")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, help_text in (
        ("deliveries", "delivered leads: external_id, partner, profile, lead_type, lead_id, delivered_at, ..."),
        ("returns", "return requests or decisions: external_id, reason, [requested_at], [status]"),
    ):
        k = kinds.add_parser(kind, help=help_text, description=help_text)
        k.add_argument("file", metavar="FILE", help="the CSV file (UTF-8, header on line 1); - reads stdin")
        k.add_argument("--entity", required=True, metavar="SLUG", help="the entity the file belongs to")
        k.add_argument(
            "--all-or-nothing", action="store_true", help="write nothing if any row is bad (default: keep good rows)"
        )
        k.add_argument("--json", action="store_true", help="print the result as JSON")
        k.set_defaults(handler=import_file)


def entity_by_slug(slug: str) -> Any:
    from leadbill.entities.models import Entity

    entity = Entity.objects.filter(slug=slug).first()
    if entity is None:
        raise CommandError(f"no entity {slug!r}")
    return entity


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read through it, for the progress bar."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        return n or 0


@contextmanager
def _progress(total: int | None, counter: _CountingReader, label: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr (bytes read) when stderr is a terminal; else no callback."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
    )
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total, rows=0)
        yield lambda rows: bar.update(task, completed=counter.count, rows=rows)


def import_file(args: argparse.Namespace) -> int:
    from leadbill.deliveries.services import deliveries_import, returns_import

    entity = entity_by_slug(args.entity)
    service = deliveries_import if args.kind == "deliveries" else returns_import
    if args.file == "-":
        raw: BinaryIO = sys.stdin.buffer
        total, name = None, "<stdin>"
    else:
        path = Path(args.file)
        try:
            raw = path.open("rb")
        except OSError as exc:
            raise CommandError(f"cannot open {args.file}: {exc.strerror}") from None
        total, name = path.stat().st_size, path.name
    counter = _CountingReader(raw)
    try:
        # utf-8-sig: a byte-order mark written by spreadsheet programs is not part of the header.
        stream = io.TextIOWrapper(io.BufferedReader(counter, 1 << 20), encoding="utf-8-sig", newline="")
        with _progress(total, counter, f"importing {name}") as progress:
            result = service(
                actor=args.actor,
                entity=entity,
                stream=stream,
                all_or_nothing=args.all_or_nothing,
                progress=progress,
                file_name=name,
            )
    except UnicodeDecodeError as exc:
        raise CommandError(f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()

    if args.json:
        print_json(result.as_dict())
    else:
        _print_result(args.kind, result)
    if result.refused:
        return EXIT_REFUSED
    return EXIT_BAD_ROWS if result.error_count else EXIT_OK


def _print_result(kind: str, result: Any) -> None:
    counts = [f"{result.rows:,} rows", f"{result.created:,} created", f"{result.already_present:,} already present"]
    if kind == "returns":
        counts.append(f"{result.decided:,} decided")
    counts.append(f"{result.error_count:,} bad")
    print(f"{result.file_name}: {', '.join(counts)}")
    for error in result.errors:
        print(error)
    if result.error_count > len(result.errors):
        print(f"... and {result.error_count - len(result.errors):,} more bad rows")
    if result.refused:
        print("refused: nothing was imported (--all-or-nothing)")
