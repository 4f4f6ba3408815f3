"""`leadbill receivables aging|account|statement|apply|refund|write-off|reverse-payment`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from leadbill.cli.arguments import whole
from leadbill.cli.lookups import amount_minor, entity_of, partner_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import amount, console, print_json, print_table

ENTITY_HELP = "entity slug (optional when only one entity exists)"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    top = sub.add_parser("receivables", help="what partners owe: aging, accounts, statements, credit, write-offs")
    actions = top.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("aging", help="open amounts per partner by days past due")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=aging)
    p = actions.add_parser("account", help="a partner's balance, open invoices and credit on account")
    p.add_argument("partner", help="partner code")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=account)
    p = actions.add_parser("statement", help="a partner's statement of account as PDF or CSV")
    p.add_argument("partner", help="partner code")
    p.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")
    p.add_argument("--currency", help="ISO 4217 code (default: the partner's)")
    p.add_argument("--format", choices=["pdf", "csv"], default="pdf", help="file format (default pdf)")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.set_defaults(handler=statement)
    p = actions.add_parser("apply", help="apply credit on account to an invoice, or to open invoices oldest first")
    p.add_argument("partner", help="partner code")
    p.add_argument("--invoice", help="invoice number (default: open invoices, oldest first)")
    p.add_argument("--amount", help="decimal, at most the credit on account (default: all of it)")
    p.add_argument("--currency", help="ISO 4217 code (default: the partner's)")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.set_defaults(handler=apply)
    p = actions.add_parser("refund", help="record money paid back out of a partner's credit on account")
    p.add_argument("partner", help="partner code")
    p.add_argument("amount", help="decimal, at most the credit on account")
    p.add_argument("--reference", default="", help="the transfer's reference (default: none)")
    p.add_argument("--currency", help="ISO 4217 code (default: the partner's)")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.set_defaults(handler=refund)
    p = actions.add_parser("write-off", help="close what is open on an invoice as a loss")
    p.add_argument("number", help="invoice number")
    p.add_argument("--reason", required=True, help="why it is written off (kept with the write-off)")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.set_defaults(handler=write_off)
    p = actions.add_parser("reverse-payment", help="reverse a mistaken payment; the invoice reopens")
    p.add_argument("number", help="invoice number")
    p.add_argument("payment", type=whole, help="payment id (see `leadbill invoices show NUMBER --json`)")
    p.add_argument("--reason", required=True, help="why it is reversed")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.set_defaults(handler=reverse_payment)
    register_reminders(actions)


def register_reminders(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = actions.add_parser("reminders", help="the entity's reminder policy: show it, switch it on or off, set steps")
    switch = p.add_mutually_exclusive_group()
    switch.add_argument("--on", dest="enabled", action="store_const", const=True, help="send reminders")
    switch.add_argument("--off", dest="enabled", action="store_const", const=False, help="send none")
    p.add_argument("--steps-file", help="JSON list of {days, subject, body}; days after the due date, negative before")
    p.add_argument("--attach-statement", choices=["yes", "no"], help="attach the statement of account (default yes)")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.set_defaults(handler=reminders, enabled=None)
    p = actions.add_parser("pause", help="pause reminders to a partner (a dispute, a payment plan)")
    p.add_argument("partner", help="partner code")
    p.add_argument("--reason", required=True, help="why (kept with the pause)")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.set_defaults(handler=pause)
    p = actions.add_parser("resume", help="send reminders to a paused partner again")
    p.add_argument("partner", help="partner code")
    p.add_argument("--entity", help=ENTITY_HELP)
    p.set_defaults(handler=resume)


def reminders(args: argparse.Namespace) -> int:
    import json

    from leadbill.receivables.dunning import policy_of, policy_set

    entity = entity_of(args.entity)
    steps = None
    if args.steps_file:
        try:
            steps = json.loads(Path(args.steps_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"--steps-file: cannot read {args.steps_file}: {exc}") from None
    attach = None if args.attach_statement is None else args.attach_statement == "yes"
    if args.enabled is not None or steps is not None or attach is not None:
        policy = policy_set(actor=args.actor, entity=entity, enabled=args.enabled, steps=steps, attach_statement=attach)
    else:
        policy = policy_of(entity)
    state = "on" if policy.enabled else "off"
    console.print(
        f"Reminders of {entity.slug} are {state}; statement attached: {'yes' if policy.attach_statement else 'no'}"
    )
    for step in policy.steps:
        when = f"{-step['days']} days before due" if step["days"] < 0 else f"{step['days']} days after due"
        console.print(f"  {when}: {step['subject']}")
    return 0


def pause(args: argparse.Namespace) -> int:
    from leadbill.receivables.dunning import reminders_pause

    partner = partner_of(entity_of(args.entity), args.partner)
    reminders_pause(actor=args.actor, partner=partner, reason=args.reason)
    console.print(f"Reminders to {partner.code} are paused")
    return 0


def resume(args: argparse.Namespace) -> int:
    from leadbill.receivables.dunning import reminders_resume

    partner = partner_of(entity_of(args.entity), args.partner)
    reminders_resume(actor=args.actor, partner=partner)
    console.print(f"Reminders to {partner.code} are on")
    return 0


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--{name}: give a date as YYYY-MM-DD, not {text!r}") from None


def _invoice(entity_slug: str | None, number: str):  # type: ignore[no-untyped-def]
    from leadbill.invoicing.selectors import invoice_by_number

    entity = entity_of(entity_slug)
    try:
        return invoice_by_number(entity, number)
    except LookupError as exc:
        raise CommandError(str(exc)) from None


def aging(args: argparse.Namespace) -> int:
    from leadbill.invoicing.selectors import money
    from leadbill.invoicing.services import today_in
    from leadbill.receivables.selectors import AGING_BUCKETS
    from leadbill.receivables.selectors import aging as aging_rows

    entity = entity_of(args.entity)
    rows = aging_rows(entity, today_in(entity))
    buckets = [b for b, _, _ in AGING_BUCKETS]
    if args.json:
        print_json([{"partner": r["partner"].code, "currency": r["currency"],
                     **{b: money(r[b], r["currency"]) for b in [*buckets, "total"]}} for r in rows])  # fmt: skip
        return 0
    if not rows:
        console.print(f"Nothing is open at {entity.slug}")
        return 0
    print_table(f"Aging of {entity.slug}", ["Partner", "Currency", *buckets, "Total"],
                [(r["partner"].code, r["currency"], *[amount(r[b], r["currency"]) for b in buckets],
                  amount(r["total"], r["currency"])) for r in rows],
                right=tuple(range(2, 3 + len(buckets))))  # fmt: skip
    return 0


def account(args: argparse.Namespace) -> int:
    from leadbill.invoicing.selectors import money
    from leadbill.invoicing.services import today_in
    from leadbill.receivables.selectors import partner_accounts

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    accounts = partner_accounts(partner, today_in(entity))
    if args.json:
        print_json([{"currency": a.currency, "balance": money(a.balance_minor, a.currency),
                     "open": money(a.open_minor, a.currency), "overdue": money(a.overdue_minor, a.currency),
                     "credit_on_account": money(a.credit_minor, a.currency),
                     "open_invoices": [inv.number for inv in a.invoices]} for a in accounts.values()])  # fmt: skip
        return 0
    if not accounts:
        console.print(f"{partner.code} owes nothing")
    for a in accounts.values():
        console.print(f"{partner.code} ({a.currency}): open {amount(a.open_minor, a.currency)} on {a.open_invoices} "
                      f"invoice(s), overdue {amount(a.overdue_minor, a.currency)}, credit on account "
                      f"{amount(a.credit_minor, a.currency)}, balance {amount(a.balance_minor, a.currency)}")  # fmt: skip
    return 0


def statement(args: argparse.Namespace) -> int:
    from leadbill.documents.statement import statement_csv, statement_pdf
    from leadbill.domain.money import check_currency
    from leadbill.receivables.selectors import statement as statement_of

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    first, last = _day(args.first, "from"), _day(args.last, "to")
    if first > last:
        raise CommandError("--from is after --to")
    st = statement_of(partner, check_currency(args.currency or partner.currency), first, last)
    content = statement_csv(st).encode() if args.format == "csv" else statement_pdf(st)
    Path(args.output).write_bytes(content)
    console.print(f"wrote {args.output} ({len(content):,} bytes): opening {amount(st.opening_minor, st.currency)}, "
                  f"{len(st.lines)} lines, closing {amount(st.closing_minor, st.currency)}")  # fmt: skip
    return 0


def apply(args: argparse.Namespace) -> int:
    from leadbill.receivables.services import credit_apply

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    target = _invoice(entity.slug, args.invoice) if args.invoice else None
    currency = args.currency or (target.currency if target else partner.currency)
    minor = amount_minor(args.amount, currency) if args.amount else None
    spent = credit_apply(actor=args.actor, partner=partner, currency=currency, invoice=target, amount_minor=minor)
    for inv, applied in spent:
        console.print(f"applied {amount(applied, currency)} to {inv.number}")
    return 0


def refund(args: argparse.Namespace) -> int:
    from leadbill.receivables.services import credit_refund

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    currency = args.currency or partner.currency
    credit_refund(actor=args.actor, partner=partner, currency=currency,
                  amount_minor=amount_minor(args.amount, currency), reference=args.reference)  # fmt: skip
    return account(argparse.Namespace(entity=entity.slug, partner=partner.code, json=False))


def write_off(args: argparse.Namespace) -> int:
    from leadbill.receivables.selectors import write_off_outcome
    from leadbill.receivables.services import invoice_write_off

    inv = _invoice(args.entity, args.number)
    invoice_write_off(actor=args.actor, invoice=inv, reason=args.reason)
    console.print(write_off_outcome(inv))
    return 0


def reverse_payment(args: argparse.Namespace) -> int:
    from leadbill.invoicing.models import Payment
    from leadbill.receivables.services import payment_reverse

    inv = _invoice(args.entity, args.number)
    payment = Payment.objects.filter(pk=args.payment, invoice=inv).first()
    if payment is None:
        raise CommandError(f"{inv.number} has no payment {args.payment}")
    payment_reverse(actor=args.actor, payment=payment, reason=args.reason)
    inv.refresh_from_db()
    console.print(f"payment {args.payment} reversed; {inv.number} is {inv.status.replace('_', ' ')}, "
                  f"{amount(inv.balance_due_minor, inv.currency)} open")  # fmt: skip
    return 0
