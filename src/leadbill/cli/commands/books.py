"""`leadbill books accounts|journal|export|batches`: the account mapping, the journal of a range, exports."""

from __future__ import annotations

import argparse
from pathlib import Path

from leadbill.cli.lookups import day_of, entity_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import amount, console, print_json, print_table
from leadbill.domain.numbers import whole_number

ENTITY_HELP = "entity slug (optional when only one entity exists)"
TARGETS = ("qbo", "xero", "datev", "journal")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    top = sub.add_parser("books", help="accounting: the account mapping, the journal, QuickBooks/Xero/DATEV exports")
    actions = top.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("accounts", help="the entity's account mapping (set in the set-up file's books: section)")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change one key of the books: section, e.g. cash=1210, revenue_by_lead_type.auto=4010, "
                        "datev.consultant=1001 (repeatable; the other keys stay)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=accounts)
    p = actions.add_parser("journal", help="the journal of a range: totals per kind and per account, nothing written")
    _range(p)
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=journal)
    p = actions.add_parser(
        "export", help="export a range's documents for QuickBooks Online, Xero, DATEV or as a journal"
    )
    _range(p)
    p.add_argument("--target", required=True, choices=TARGETS, help="the file format")
    p.add_argument("--all", dest="all_documents", action="store_true",
                   help="export every document of the range again (default: only those not exported yet)")  # fmt: skip
    p.add_argument("--out", help="file to write (default: the batch's file name, here)")
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=export)
    p = actions.add_parser("batches", help="the exports made so far")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.set_defaults(handler=batches)


def _range(p: argparse.ArgumentParser) -> None:
    p.add_argument("--entity", help=ENTITY_HELP)
    p.add_argument("--from", dest="first", required=True, help="first document date, YYYY-MM-DD (entity's time zone)")
    p.add_argument("--to", dest="last", required=True, help="last document date, YYYY-MM-DD")


def _days(args: argparse.Namespace) -> tuple:  # type: ignore[type-arg]
    first, last = day_of(args.first), day_of(args.last)
    if first is None or last is None or first > last:
        raise CommandError("--from must be on or before --to")
    return first, last


def accounts(args: argparse.Namespace) -> int:
    from leadbill.books.selectors import mapping_columns

    entity = entity_of(args.entity)
    if args.set:
        from leadbill.books.services import mapping_update

        mapping_update(actor=args.actor, entity=entity, raw=_settings(args.set, mapping_columns(entity)))
    columns = mapping_columns(entity)
    if args.json:
        print_json(columns)
        return 0
    rows = [[k, v] for k, v in columns.items() if k != "tax_rates"]
    print_table(f"{entity.slug}: account mapping", ["key", "value"], rows, keep=[0])
    print_table("tax rates", ["rate %", "output tax", "input tax", "sales code", "purchase code"],
                [[f"{t['rate_bp'] // 100}.{t['rate_bp'] % 100:02d}", t.get("payable") or columns["tax_payable"],
                  t.get("receivable") or columns["tax_receivable"], t.get("sales_code", ""),
                  t.get("purchase_code", "")] for t in columns["tax_rates"]])  # fmt: skip
    return 0


def _settings(pairs: list[str], current: dict[str, object]) -> dict[str, object]:
    """`--set` pairs as a books: mapping; a per-lead-type or per-currency key merges into the current one."""
    raw: dict[str, dict[str, object] | object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CommandError(f"--set {pair!r}: write KEY=VALUE")
        top, _, sub = key.strip().partition(".")
        if not sub:
            raw[top] = value.strip()
            continue
        group = raw.setdefault(top, {} if top == "datev" else dict(current.get(top) or {}))  # type: ignore[call-overload]
        if not isinstance(group, dict):
            raise CommandError(f"--set {pair!r}: {top} takes no sub-key")
        text = value.strip()
        number = whole_number(text) if top == "datev" else None
        group[sub] = text if number is None else number
    return raw


def journal(args: argparse.Namespace) -> int:
    from leadbill.books.selectors import accounts_of, mapping_columns, period_facts
    from leadbill.domain import journal as j

    entity = entity_of(args.entity)
    first, last = _days(args)
    period = period_facts(entity, first, last)
    entries = j.journal(period.facts, accounts_of(mapping_columns(entity)))
    kinds: dict[tuple[str, str], list[int]] = {}
    for e in entries:
        row = kinds.setdefault((e.facts.currency, e.facts.kind), [0, 0])
        row[0] += 1
        row[1] += e.facts.total_minor
    trial = j.account_totals(entries)
    totals = j.totals(entries)
    if args.json:
        print_json({
            "entity": entity.slug, "from": first.isoformat(), "to": last.isoformat(),
            "kinds": [{"currency": c, "kind": k, "count": n, "total_minor": t} for (c, k), (n, t) in sorted(kinds.items())],
            "accounts": [{"currency": c, "account": a, "debit_minor": d, "credit_minor": k}
                         for (c, a), (d, k) in trial.items()],
            "totals": {c: {"debit_minor": d, "credit_minor": k} for c, (d, k) in totals.items()},
        })  # fmt: skip
        return 0
    print_table(f"{entity.slug} {first}..{last}: documents and money events", ["currency", "kind", "count", "total"],
                [[c, k, n, amount(t, c)] for (c, k), (n, t) in sorted(kinds.items())], right=[2, 3])  # fmt: skip
    print_table("journal per account", ["currency", "account", "debit", "credit", "balance"],
                [[c, a, amount(d, c), amount(k, c), amount(d - k, c)] for (c, a), (d, k) in trial.items()],
                right=[2, 3, 4])  # fmt: skip
    for c, (d, k) in totals.items():
        console.print(f"{c}: debits {amount(d, c)} = credits {amount(k, c)}")
    return 0


def export(args: argparse.Namespace) -> int:
    from leadbill.books.services import export_create

    entity = entity_of(args.entity)
    first, last = _days(args)
    result = export_create(actor=args.actor, entity=entity, target=args.target, first=first, last=last,
                           all_documents=args.all_documents)  # fmt: skip
    batch = result.batch
    written = None
    if batch is not None:
        out = Path(args.out or batch.file_name)
        out.write_bytes(bytes(batch.content))
        written = str(out)
    if args.json:
        print_json({
            "batch": batch.pk if batch else None, "file": written, "sha256": batch.sha256 if batch else None,
            "new": result.new, "already": result.already, "already_batches": result.already_batches,
            "summary": result.summary,
            "totals": {c: {"debit_minor": d, "credit_minor": k} for c, (d, k) in result.totals.items()},
        })  # fmt: skip
        return 0
    if batch is None:
        console.print(f"{result.summary}: nothing to export (--all exports the range again)")
        return 0
    balance = "; ".join(f"debits = credits = {amount(d, c)}" for c, (d, _) in result.totals.items())
    console.print(f"wrote {written} ({batch.size:,} bytes, sha256 {batch.sha256[:12]}…): batch {batch.pk}, "
                  f"{batch.document_count} documents, {result.summary}; {balance}")  # fmt: skip
    return 0


def batches(args: argparse.Namespace) -> int:
    from leadbill.books.selectors import batches_of

    entity = entity_of(args.entity)
    print_table(f"{entity.slug}: export batches", ["batch", "target", "from", "to", "documents", "new", "by", "at", "file"],
                [[b.pk, b.target, b.date_from, b.date_to, b.document_count, b.new_count, b.created_by,
                  b.created_at.strftime("%Y-%m-%d %H:%M"), b.file_name] for b in batches_of(entity)],
                right=[0, 4, 5], keep=[0, 1])  # fmt: skip
    return 0
