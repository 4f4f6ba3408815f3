"""`leadbill bank import|unmatched|match`: bank statements in, payments matched to invoices."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leadbill.cli.arguments import whole
from leadbill.cli.lookups import entity_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import amount, console, print_json, print_table

if TYPE_CHECKING:
    from leadbill.receivables.bank_models import BankEntry

MAX_FILE_BYTES = 20_000_000


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bank = sub.add_parser("bank", help="bank statements: import them, and match what they could not")
    actions = bank.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser("import", help="import a camt.053/camt.054 statement or a bank CSV; match its credits")
    p.add_argument("file", help="the statement file (camt XML or CSV)")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--format", choices=("camt", "csv"), help="the file's format (default: XML is camt, else CSV)")
    p.add_argument(
        "--columns",
        help="for a CSV: Leadbill's fields mapped to the file's headers, e.g. "
        "'date=Booking date,amount=Amount,currency=Currency,text=Purpose,debtor=Payer,entry_id=Id,reference=Ref'",
    )
    p.add_argument("--account", default="", help="for a CSV: the account it is of, e.g. its IBAN (default: csv)")
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=import_statement)
    p = actions.add_parser("unmatched", help="credits no invoice was found for, waiting for a person")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=unmatched)
    p = actions.add_parser("match", help="match an unmatched credit to an invoice: its payment is recorded")
    p.add_argument("entry_id", type=whole, help="the bank entry's id (see `leadbill bank unmatched`)")
    p.add_argument("invoice_number", help="the invoice it pays, e.g. INV-000042")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.set_defaults(handler=match)


def _read(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"no such file: {path}")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise CommandError(f"{path} is larger than {MAX_FILE_BYTES:,} bytes")
    with file.open("rb") as stream:
        return stream.read(MAX_FILE_BYTES + 1)


def _print_entries(title: str, entries: Sequence[BankEntry]) -> None:
    print_table(
        title,
        ["Id", "Booked", "Amount", "Debtor", "Text", "Reference", "Why"],
        [(e.pk, e.booked_on, amount(e.amount_minor, e.currency), e.debtor, e.remittance or e.structured_reference,
          e.reference, e.reason) for e in entries],
        right=(2,), keep=(0, 1), drop=(5, 3, 4),
    )  # fmt: skip


def import_statement(args: argparse.Namespace) -> int:
    from leadbill.receivables.bankfiles import parse_columns
    from leadbill.receivables.statements import bank_statement_import, result_as_dict

    entity = entity_of(args.entity)
    content = _read(args.file)
    columns = parse_columns(args.columns) if args.columns else None
    result = bank_statement_import(actor=args.actor, entity=entity, content=content, file_name=Path(args.file).name,
                                   format=args.format, columns=columns, account=args.account)  # fmt: skip
    if args.json:
        print_json(result_as_dict(result))
        return 0
    console.print(
        f"{result.file_name}: {result.new} new entries ({result.matched} matched, {result.unmatched} unmatched, "
        f"{result.ignored} debits ignored), {result.duplicate} imported before"
        + (f", {result.not_booked} not booked yet (skipped)" if result.not_booked else "")
    )
    for problem in result.problems:
        console.print(f"  refused {problem}")
    if result.unmatched_entries:
        _print_entries("Unmatched (match with `leadbill bank match ID NUMBER`)", result.unmatched_entries)
    return 0


def unmatched(args: argparse.Namespace) -> int:
    from leadbill.receivables.statements import bank_entry_as_dict, unmatched_entries

    entity = entity_of(args.entity)
    entries = list(unmatched_entries(entity))
    if args.json:
        print_json([bank_entry_as_dict(e) for e in entries])
        return 0
    if not entries:
        console.print(f"No unmatched bank entries in {entity.slug}")
        return 0
    _print_entries(f"Unmatched bank entries of {entity.slug}", entries)
    return 0


def match(args: argparse.Namespace) -> int:
    from leadbill.invoicing.models import Invoice, Kind
    from leadbill.receivables.bank_models import BankEntry
    from leadbill.receivables.statements import bank_entry_match

    entity = entity_of(args.entity)
    entry = BankEntry.objects.filter(entity=entity, pk=args.entry_id).first() if 0 < args.entry_id < 2**63 else None
    if entry is None:
        raise CommandError(f"no bank entry {args.entry_id} in entity {entity.slug}")
    invoice = Invoice.objects.filter(entity=entity, kind=Kind.INVOICE, number=args.invoice_number).first()
    if invoice is None:
        raise CommandError(f"no invoice {args.invoice_number!r} in entity {entity.slug}")
    entry = bank_entry_match(actor=args.actor, entry=entry, invoice=invoice)
    invoice.refresh_from_db()
    console.print(
        f"Bank entry {entry.pk} ({amount(entry.amount_minor, entry.currency)}) recorded as a payment of "
        f"{invoice.number}, now {invoice.get_status_display().lower()}"
    )
    return 0
