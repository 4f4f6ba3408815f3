"""`leadbill payment-file ...`: bank files for ready payouts (SEPA, NACHA, bank CSV), and payout spreadsheets."""

from __future__ import annotations

import argparse
from pathlib import Path

from leadbill.cli.arguments import whole
from leadbill.cli.lookups import day_of, entity_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import amount, console, print_json, print_table
from leadbill.payment_files.builders.nacha import ACH_HELP

KINDS = {"sepa": "sepa", "nacha": "nacha", "bank-csv": "bank_csv"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    entity_help = "entity slug (optional when only one entity exists)"
    files = sub.add_parser("payment-file", help="bank files that pay ready payouts (SEPA, NACHA, bank CSV)")
    actions = files.add_subparsers(dest="payment_file_action", metavar="ACTION", required=True)
    p = actions.add_parser("make", help="a payment file of ready payouts: SEPA (EUR), NACHA or bank CSV (USD)")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--kind", choices=tuple(KINDS), required=True, help="sepa (pain.001), nacha or bank-csv")
    p.add_argument("--payout", type=whole, action="append", metavar="ID",
                   help="a ready payout to pay (repeatable; default: every ready payout in the file's currency)")  # fmt: skip
    p.add_argument("--execution-date", help="the day the bank should pay, YYYY-MM-DD (default: today)")
    p.add_argument("--skip-invalid", action="store_true",
                   help="leave out payouts that cannot be paid (bad bank details ...) instead of making no file")  # fmt: skip
    p.add_argument("--output", "-o", type=Path, help="also write the file here (a folder: its own name)")
    p.add_argument("--json", action="store_true", help="print the file's details as JSON")
    p.set_defaults(handler=make)
    p = actions.add_parser("list", help="payment files of an entity, newest first")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=listing)
    p = actions.add_parser("show", help="a payment file with its payments")
    p.add_argument("file", type=whole, help="the file's id (see `payment-file list`)")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=show)
    p = actions.add_parser("download", help="write a payment file as it was made (the stored bytes)")
    p.add_argument("file", type=whole, help="the file's id")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--output", "-o", type=Path, help="file or folder to write (default: its name, here)")
    p.set_defaults(handler=download)
    p = actions.add_parser("sent", help="the file went to the bank: its payouts become paid on that day")
    p.add_argument("file", type=whole, help="the file's id")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--on", help="the day it was sent, YYYY-MM-DD (default: today)")
    p.add_argument("--json", action="store_true", help="print the file's details as JSON")
    p.set_defaults(handler=sent)
    p = actions.add_parser("cancel", help="cancel a file not sent yet: its payouts are free again")
    p.add_argument("file", type=whole, help="the file's id")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--reason", required=True, help="why, kept in the audit trail")
    p.set_defaults(handler=cancel)
    p = actions.add_parser("ach-settings", help="show or set the entity's ACH originator details (for NACHA)")
    p.add_argument("--entity", help=entity_help)
    for name, text in ACH_HELP.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, help=text)
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    p.set_defaults(handler=ach_settings)
    p = actions.add_parser("sheet", help="a spreadsheet of payouts with their lines (xlsx or csv)")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="file format (default: xlsx)")
    p.add_argument("--payout", type=whole, action="append", metavar="ID", help="only this payout (repeatable)")
    p.add_argument("--from", dest="first_day", help="payouts whose period ends on or after this day, YYYY-MM-DD")
    p.add_argument("--to", dest="last_day", help="payouts whose period ends on or before this day, YYYY-MM-DD")
    p.add_argument("--status", help="only payouts in this status: draft, pending, ready, paid or cancelled")
    p.add_argument("--output", "-o", type=Path, required=True, help="the file to write")
    p.set_defaults(handler=sheet)


def _file(entity_slug: str | None, pk: int):  # type: ignore[no-untyped-def]
    from leadbill.payment_files.selectors import file_of

    file = file_of(entity_of(entity_slug), pk)
    if file is None:
        raise CommandError(f"no payment file {pk}")
    return file


def _summary(file) -> None:  # type: ignore[no-untyped-def]
    console.print(f"Payment file {file.pk} {file.message_id} ({file.kind}) {file.status}: {file.count} payment"
                  f"{'s' * (file.count != 1)}, {amount(file.total_minor, file.currency)}, "
                  f"execution {file.execution_date} · sha256 {file.sha256[:12]}…")  # fmt: skip
    for skipped in file.skipped:
        console.print(f"  [yellow]left out[/yellow] payout {skipped['payout']} ({skipped['partner']}) "
                      f"{skipped['field']}: {skipped['message']}")  # fmt: skip


def _write(file, target: Path | None, *, quiet: bool = False) -> None:  # type: ignore[no-untyped-def]
    path = target or Path(file.name)
    if path.is_dir():
        path = path / file.name
    path.write_bytes(bytes(file.content))
    if not quiet:  # --json prints JSON only
        console.print(f"{path} ({file.size:,} bytes)")


def make(args: argparse.Namespace) -> int:
    from leadbill.payment_files.selectors import file_as_dict
    from leadbill.payment_files.services import CURRENCY, payment_file_create
    from leadbill.payouts.selectors import payouts_of

    entity = entity_of(args.entity)
    kind = KINDS[args.kind]
    ids = args.payout
    if not ids:
        ready = payouts_of(entity).filter(status="ready", currency=CURRENCY[kind]).order_by("pk")
        ids = list(ready.values_list("pk", flat=True))
        if not ids:
            raise CommandError(f"no ready payouts in {CURRENCY[kind]} in {entity.slug}")
    file = payment_file_create(actor=args.actor, entity=entity, kind=kind, payout_ids=ids,
                               execution_date=day_of(args.execution_date), skip_invalid=args.skip_invalid)  # fmt: skip
    if args.json:
        print_json(file_as_dict(file))
    else:
        _summary(file)
    if args.output:
        _write(file, args.output, quiet=args.json)
    return 0


def listing(args: argparse.Namespace) -> int:
    from leadbill.payment_files.selectors import file_as_dict, files_of

    entity = entity_of(args.entity)
    rows = list(files_of(entity)[:500])
    if args.json:
        print_json([file_as_dict(f) for f in rows])
        return 0
    if not rows:
        console.print(f"No payment files of {entity.slug}")
        return 0
    print_table(f"Payment files of {entity.slug}", ["Id", "Message id", "Kind", "Status", "Payments", "Total",
                                                     "Execution", "Sent on"],
                [(f.pk, f.message_id, f.kind, f.status, f.count, amount(f.total_minor, f.currency),
                  f.execution_date, f.sent_on or "-") for f in rows], right=(0, 4, 5))  # fmt: skip
    return 0


def show(args: argparse.Namespace) -> int:
    from leadbill.payment_files.selectors import file_as_dict, items_of

    file = _file(args.entity, args.file)
    items = items_of(file)
    if args.json:
        print_json(file_as_dict(file, items=items))
        return 0
    _summary(file)
    print_table("Payments", ["Payout", "Partner", "Amount", "End-to-end id", "Account", "Reference"],
                [(i.payout_id, i.payout.partner.code, amount(i.amount_minor, file.currency), i.end_to_end_id,
                  i.account, i.remittance) for i in items], right=(0, 2))  # fmt: skip
    return 0


def download(args: argparse.Namespace) -> int:
    _write(_file(args.entity, args.file), args.output)
    return 0


def sent(args: argparse.Namespace) -> int:
    from leadbill.payment_files.selectors import file_as_dict
    from leadbill.payment_files.services import payment_file_mark_sent

    done = payment_file_mark_sent(actor=args.actor, file=_file(args.entity, args.file), sent_on=day_of(args.on))
    if args.json:
        print_json({**file_as_dict(done.file), "paid": done.paid, "already": done.already})
        return 0
    if done.already:
        console.print(f"payment file {done.file.message_id} was already sent on {done.file.sent_on}: nothing changed")
    else:
        console.print(f"payment file {done.file.message_id} sent on {done.file.sent_on}: "
                      f"{len(done.paid)} payout{'s' * (len(done.paid) != 1)} paid")  # fmt: skip
    return 0


def cancel(args: argparse.Namespace) -> int:
    from leadbill.payment_files.services import payment_file_cancel

    file = payment_file_cancel(actor=args.actor, file=_file(args.entity, args.file), reason=args.reason)
    console.print(f"payment file {file.message_id} is cancelled; its payouts are free for another file")
    return 0


def ach_settings(args: argparse.Namespace) -> int:
    from leadbill.payment_files.selectors import ach_originator_of
    from leadbill.payment_files.services import ACH_FIELDS, ach_originator_set

    entity = entity_of(args.entity)
    given = {name: getattr(args, name) for name in ACH_FIELDS if getattr(args, name) is not None}
    settings = ach_originator_set(actor=args.actor, entity=entity, values=given) if given else ach_originator_of(entity)
    shown = {name: getattr(settings, name) for name in ACH_FIELDS} if settings else None
    if args.json:
        print_json({"entity": entity.slug, "ach": shown})
    elif shown is None:
        console.print(f"{entity.slug} has no ACH originator settings yet: give them as options (see --help)")
    else:
        print_table(f"ACH originator of {entity.slug}", ["setting", "value"], list(shown.items()))
    return 0


def sheet(args: argparse.Namespace) -> int:
    from leadbill.payment_files.builders import sheets
    from leadbill.payment_files.selectors import sheet_payouts, sheet_rows

    entity = entity_of(args.entity)
    qs = sheet_payouts(entity, ids=args.payout, first_day=day_of(args.first_day), last_day=day_of(args.last_day),
                       status=args.status)  # fmt: skip
    rows = sheet_rows(qs)
    content = sheets.xlsx_bytes(rows) if args.format == "xlsx" else sheets.csv_bytes(rows)
    args.output.write_bytes(content)
    console.print(f"{args.output}: {len(rows)} payout{'s' * (len(rows) != 1)} ({len(content):,} bytes)")
    return 0
