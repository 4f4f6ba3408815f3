"""`leadbill invoices list|show|pay|void|credit-note|manual`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leadbill.cli.lookups import amount_minor, day_of, entity_of, partner_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import amount, console, print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    entity_of_number = "entity slug (only needed when the number exists in several entities)"
    inv = sub.add_parser("invoices", help="issued documents: list, show, pay, void, credit notes")
    actions = inv.add_subparsers(dest="invoice_action", metavar="ACTION", required=True)
    p = actions.add_parser("list", help="the document history")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--partner", help="only this partner's documents (partner code)")
    p.add_argument(
        "--status",
        choices=["draft", "issued", "partially_paid", "paid", "void", "written_off"],
        help="only documents in this status",
    )
    p.add_argument("--period", help="only documents of this period, by its key as listed: 2026-03 (month), "
                   "2026-W10 (ISO week) or 2026-03-01..2026-03-15")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON (with each document's lines) instead of a table")
    p.set_defaults(handler=list_invoices)
    p = actions.add_parser("show", help="one document with its lines")
    p.add_argument("number", help="the document number, e.g. US-000028, or draft-<id> for a draft")
    p.add_argument("--entity", help=entity_of_number)
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=show)
    p = actions.add_parser("issue", help="issue drafts: numbers are allocated now")
    p.add_argument("number", nargs="*", help="draft-<id> references (see `invoices list --status draft`)")
    p.add_argument("--all", action="store_true", help="every draft of the entity (of --period if given)")
    p.add_argument("--period", help="with --all: only drafts of this period: 2026-03 (month), 2026-W10 (ISO week) "
                   "or 2026-03-01..2026-03-15 (default: every period)")  # fmt: skip
    p.add_argument("--issue-date", help="YYYY-MM-DD (default: today in the entity's time zone)")
    p.add_argument("--entity", help="entity slug (with --all: optional when only one entity exists; "
                   "with draft references: only needed when one exists in several entities)")  # fmt: skip
    p.set_defaults(handler=issue_drafts)
    p = actions.add_parser("discard", help="throw a draft away; its leads can be billed again")
    p.add_argument("number", help="draft-<id> (see `invoices list --status draft`)")
    p.add_argument("--entity", help=entity_of_number)
    p.set_defaults(handler=discard)
    p = actions.add_parser("pay", help="record a full or partial payment")
    p.add_argument("number", help="the invoice number, e.g. US-000028")
    p.add_argument("amount", help="decimal, e.g. 120.50, in the invoice's currency (at most the amount due)")
    p.add_argument("--on", help="payment date YYYY-MM-DD (default today)")
    p.add_argument("--reference", default="", help="payment reference, e.g. the bank transfer's (default: none)")
    p.add_argument("--entity", help=entity_of_number)
    p.set_defaults(handler=pay)
    p = actions.add_parser("void", help="void an unpaid document; a credit note reverses it")
    p.add_argument("number", help="the document number, e.g. US-000028")
    p.add_argument("--reason", required=True, help="why it is voided (printed on the reversing credit note)")
    p.add_argument("--leads", required=True, choices=["rebill", "cancel"],
                   help="rebill: a correction, its leads are billed again on the next run; "
                        "cancel: they are not billable")  # fmt: skip
    p.add_argument("--entity", help=entity_of_number)
    p.set_defaults(handler=void)
    p = actions.add_parser("credit-note", help="credit returns accepted after billing and credit adjustments now")
    p.add_argument("partner", help="partner code")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print the credit note as JSON")
    p.set_defaults(handler=credit_note)
    p = actions.add_parser("manual", help="a manual invoice of typed lines for one partner and period")
    p.add_argument("partner", help="partner code")
    p.add_argument("--period", required=True, help="the period it is for: 2026-03, 2026-W10 or 2026-03-01..2026-03-15")
    p.add_argument(
        "--line",
        action="append",
        required=True,
        metavar="DESCRIPTION;QUANTITY;PRICE[;TAX%]",
        help='one line, repeatable: "Set-up fee;1;250.00;20" (tax: default the partner\'s rate; '
        "a negative quantity is a credit line)",
    )
    p.add_argument("--issue", action="store_true", help="issue it now (numbered); without it: a draft to review")
    p.add_argument("--issue-date", help="with --issue: YYYY-MM-DD (default: today in the entity's time zone)")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print the invoice as JSON")
    p.set_defaults(handler=manual_invoice)

    p = actions.add_parser("pdf", help="the document as PDF/A (archived the first time it is produced)")
    p.add_argument("number", help="the document number, e.g. US-000028")
    p.add_argument("--entity", help=entity_of_number)
    p.add_argument("-o", "--output", type=Path, help="file or folder to write (default: ./NUMBER.pdf); - for stdout")
    p.set_defaults(handler=document_pdf)
    p = actions.add_parser("einvoice", help="the EN 16931 e-invoice: Factur-X PDF or UBL (Peppol BIS 3.0)")
    p.add_argument("number", help="the document number, e.g. US-000028")
    p.add_argument("--format", choices=["facturx", "ubl"], required=True,
                   help="facturx: PDF with the XML embedded; ubl: UBL XML (Peppol BIS 3.0)")  # fmt: skip
    p.add_argument("--entity", help=entity_of_number)
    p.add_argument("-o", "--output", type=Path, help="file or folder to write (default: current folder); - for stdout")
    p.set_defaults(handler=document_einvoice)


def _find(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from leadbill.invoicing.selectors import invoice_by_number

    try:
        return invoice_by_number(entity_of(args.entity) if args.entity else None, args.number)
    except LookupError as exc:
        raise CommandError(str(exc)) from None


def list_invoices(args: argparse.Namespace) -> int:
    from leadbill.invoicing.selectors import display_number, invoice_as_dict, invoices_list

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner) if args.partner else None
    invoices = invoices_list(entity, partner=partner, status=args.status, period_key=args.period)
    if args.json:
        print_json([invoice_as_dict(i) for i in invoices.prefetch_related("lines", "payments")])
        return 0
    rows = list(invoices)
    if not rows:
        console.print(f"No documents of {entity.slug} match")
        return 0
    print_table(
        f"Documents of {entity.slug}",
        ["Number", "Kind", "Status", "Partner", "Period", "Issued", "Due", "Total", "Paid"],
        [
            (display_number(i), i.kind.replace("_", " "), i.status, i.partner.code, i.period_key, i.issue_date,
             i.due_date, amount(i.total_minor, i.currency), amount(i.paid_minor, i.currency))
            for i in rows
        ],
        right=(7, 8), keep=(0, 2, 5, 6), drop=(1, 4, 8, 5),
    )  # fmt: skip
    return 0


def show(args: argparse.Namespace) -> int:
    from leadbill.invoicing.selectors import invoice_as_dict

    inv = _find(args)
    data = invoice_as_dict(inv)
    if args.json:
        print_json(data)
        return 0
    c = data["currency"]
    console.print(f"[bold]{data['kind'].replace('_', ' ').title()} {data['reference']}[/bold] ({data['status']})")
    issued = data["issue_date"] or "not yet (draft)"
    console.print(f"To: {data['buyer']['name']}  Issued: {issued}  Due: {data['due_date'] or '-'}")
    if data["period"]:
        console.print(f"Period: {data['period']['first_day']} to {data['period']['last_day']}")
    console.print(f"Leads purchased: {data['leads_purchased']}  returned: {data['leads_returned']}")
    print_table(
        "Lines",
        ["#", "Description", "Qty", "Unit price", f"Amount {c}"],
        [
            (ln["position"], ln["description"], ln["quantity"], ln["unit_price"] or "", ln["amount"])
            for ln in data["lines"]
        ],
        right=(0, 2, 3, 4),
    )
    console.print(
        f"Subtotal {amount(inv.subtotal_minor, c)}  Tax {amount(inv.tax_minor, c)}  "
        f"[bold]Total {amount(inv.total_minor, c)}[/bold]"
        + (f"  Paid {amount(inv.paid_minor, c)}" if inv.paid_minor else "")
    )
    if data["prepay"]:
        console.print(
            f"Balance: opening {amount(inv.opening_balance_minor, c)}, top-ups {amount(inv.topups_minor, c)}, "
            f"closing {amount(inv.closing_balance_minor, c)}"
        )
    for note in data["notes"]:
        console.print(f"Note: {note}")
    return 0


def issue_drafts(args: argparse.Namespace) -> int:
    from leadbill.cli.lookups import period_of
    from leadbill.invoicing.services import invoice_issue, invoices_issue_drafts

    if args.all:
        entity = entity_of(args.entity)
        period = period_of(entity, args.period) if args.period else None
        issued = invoices_issue_drafts(
            actor=args.actor, entity=entity, period=period, issue_date=day_of(args.issue_date)
        )
    elif args.number:
        issued = []
        for number in args.number:
            args_one = argparse.Namespace(entity=args.entity, number=number)
            issued.append(invoice_issue(actor=args.actor, invoice=_find(args_one), issue_date=day_of(args.issue_date)))
    else:
        raise CommandError("name the drafts to issue, or pass --all")
    for inv in issued:
        console.print(f"Issued {inv.number}: {inv.kind.replace('_', ' ')} to {inv.partner.code}, "
                      f"{amount(inv.total_minor, inv.currency)}")  # fmt: skip
    if not issued:
        console.print("No drafts to issue")
    return 0


def discard(args: argparse.Namespace) -> int:
    from leadbill.invoicing.services import invoice_discard

    inv = _find(args)
    invoice_discard(actor=args.actor, invoice=inv)
    console.print(f"discarded draft {args.number}; its leads can be billed again")
    return 0


def pay(args: argparse.Namespace) -> int:
    from leadbill.entities.selectors import today_in
    from leadbill.invoicing.services import payment_record

    inv = _find(args)
    payment_record(
        actor=args.actor, invoice=inv, amount_minor=amount_minor(args.amount, inv.currency),
        paid_on=day_of(args.on) or today_in(inv.entity), reference=args.reference,
    )  # fmt: skip
    inv.refresh_from_db()
    left = inv.balance_due_minor
    console.print(
        f"{inv.number}: paid {amount(inv.paid_minor, inv.currency)} of {amount(inv.total_minor, inv.currency)}"
        + (f", {amount(left, inv.currency)} still due" if left > 0 else "")
        + f" \u2014 {inv.status}"
    )
    return 0


def void(args: argparse.Namespace) -> int:
    from leadbill.invoicing.services import invoice_void

    inv = _find(args)
    note = invoice_void(actor=args.actor, invoice=inv, reason=args.reason, leads=args.leads)
    then = "its leads are billed again on the next run" if args.leads == "rebill" else "its leads are not billable"
    console.print(f"{inv.number} is void; credit note {note.number} reverses it; {then}")
    return 0


def credit_note(args: argparse.Namespace) -> int:
    from leadbill.invoicing.selectors import invoice_as_dict
    from leadbill.invoicing.services import credit_note_issue

    entity = entity_of(args.entity)
    note = credit_note_issue(actor=args.actor, partner=partner_of(entity, args.partner))
    if args.json:
        print_json(invoice_as_dict(note))
    else:
        console.print(f"Credit note {note.number} issued: {amount(note.total_minor, note.currency)}")
    return 0


def manual_invoice(args: argparse.Namespace) -> int:
    from decimal import Decimal

    from leadbill.cli.lookups import period_of
    from leadbill.domain.generation import ManualLine
    from leadbill.domain.money import parse_decimal
    from leadbill.domain.numbers import whole_number
    from leadbill.invoicing.selectors import display_number, invoice_as_dict
    from leadbill.invoicing.services import manual_invoice_create

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    rate = Decimal(partner.tax_rate()).scaleb(-2)
    lines = []
    for i, text in enumerate(args.line, start=1):
        parts = [part.strip() for part in text.split(";")]
        if len(parts) not in (3, 4):
            raise CommandError(f"--line {i}: give DESCRIPTION;QUANTITY;PRICE or DESCRIPTION;QUANTITY;PRICE;TAX%")
        negative = parts[1].startswith("-")
        quantity = whole_number(parts[1][1:] if negative else parts[1], max_digits=10)
        if quantity is None:
            raise CommandError(f"--line {i}: quantity {parts[1]!r} is not a whole number")
        lines.append(ManualLine(parts[0], -quantity if negative else quantity,
                                parse_decimal(parts[2], field=f"line {i} price"),
                                parse_decimal(parts[3], field=f"line {i} tax") if len(parts) == 4 else rate))  # fmt: skip
    inv = manual_invoice_create(actor=args.actor, partner=partner, period=period_of(entity, args.period), lines=lines,
                                issue=args.issue, issue_date=day_of(args.issue_date))  # fmt: skip
    if args.json:
        print_json(invoice_as_dict(inv))
    else:
        state = f"issued as {inv.number}" if inv.number else f"saved as {display_number(inv)} (a draft: issue it)"
        console.print(f"Manual invoice for {partner.code} {state}: {amount(inv.total_minor, inv.currency)}")
    return 0


def _write_document(args: argparse.Namespace, fmt: str) -> int:
    from leadbill.documents.services import document_file
    from leadbill.domain.errors import DomainError

    invoice = _find(args)
    try:
        doc = document_file(invoice, fmt, actor=args.actor)
    except DomainError as exc:
        raise CommandError(f"{args.number}: {exc}") from None
    if str(args.output) == "-":
        sys.stdout.buffer.write(doc.content)
        return 0
    target = args.output or Path(doc.name)
    if target.is_dir():
        target = target / doc.name
    target.write_bytes(doc.content)
    print(f"wrote {target} ({len(doc.content):,} bytes, sha256 {doc.sha256[:12]}…)")
    return 0


def document_pdf(args: argparse.Namespace) -> int:
    return _write_document(args, "pdf")


def document_einvoice(args: argparse.Namespace) -> int:
    return _write_document(args, args.format)
