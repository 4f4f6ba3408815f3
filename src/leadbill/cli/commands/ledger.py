"""`leadbill topup`, `leadbill balance`, `leadbill adjust`: prepay money and manual adjustments."""

from __future__ import annotations

import argparse
from datetime import datetime

from django.utils import timezone

from leadbill.cli.lookups import amount_minor, entity_of, partner_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import amount, console, print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("topup", help="record a prepay partner's top-up")
    p.add_argument("partner", help="partner code of a prepay partner")
    p.add_argument("amount", help="decimal, e.g. 500.00, in the partner's currency")
    p.add_argument("--at", help="ISO time with offset, e.g. 2026-03-05T14:30+01:00 (default now)")
    p.add_argument("--reference", default="", help="payment reference, e.g. the bank transfer's (default: none)")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.set_defaults(handler=topup)
    p = sub.add_parser("balance", help="a prepay partner's balance")
    p.add_argument("partner", help="partner code of a prepay partner")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=balance)
    p = sub.add_parser("adjust", help="a manual credit (negative) or debit for the next document")
    p.add_argument("partner", help="partner code")
    p.add_argument("amount", help="decimal; negative credits the partner, e.g. -25.00")
    p.add_argument("--reason", required=True, help="why (printed on the document)")
    p.add_argument("--corrects", help="number of the issued invoice it corrects (a credit note then settles it)")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.set_defaults(handler=adjust)


def topup(args: argparse.Namespace) -> int:
    from leadbill.invoicing.services import topup_record

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    at = timezone.now()
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            raise CommandError(f"not an ISO time: {args.at!r}") from None
    topup_record(actor=args.actor, partner=partner, amount_minor=amount_minor(args.amount, partner.currency),
                 occurred_at=at, reference=args.reference)  # fmt: skip
    return balance(argparse.Namespace(entity=entity.slug, partner=partner.code, json=False))


def balance(args: argparse.Namespace) -> int:
    from leadbill.invoicing.selectors import money, partner_balance

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    minor = partner_balance(partner)
    if args.json:
        print_json({"partner": partner.code, "balance": money(minor, partner.currency), "currency": partner.currency})
    else:
        console.print(f"{partner.code}: balance {amount(minor, partner.currency)}")
    return 0


def adjust(args: argparse.Namespace) -> int:
    from leadbill.invoicing.services import adjustment_create

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    corrects = None
    if args.corrects:
        from leadbill.invoicing.selectors import invoice_by_number

        try:
            corrects = invoice_by_number(entity, args.corrects)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
    adj = adjustment_create(actor=args.actor, partner=partner, amount_minor=amount_minor(args.amount, partner.currency),
                            reason=args.reason, corrects=corrects)  # fmt: skip
    kind = "credit" if adj.amount_minor < 0 else "charge"
    console.print(
        f"Adjustment {adj.pk} recorded for {partner.code}: a {kind} of {amount(abs(adj.amount_minor), partner.currency)}, "
        "on the next document (or now with `leadbill invoices credit-note`)"
    )
    return 0
