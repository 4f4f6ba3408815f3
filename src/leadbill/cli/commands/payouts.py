"""`leadbill payouts ...` and `leadbill self-billing on|off|show`: paying suppliers, and self-invoices."""

from __future__ import annotations

import argparse
from pathlib import Path

from leadbill.cli.arguments import whole
from leadbill.cli.lookups import entity_of, partner_of, period_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import amount, console, print_json, print_table
from leadbill.domain.errors import DomainError
from leadbill.domain.money import parse_decimal
from leadbill.domain.numbers import whole_number


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    entity_help = "entity slug (optional when only one entity exists)"
    payouts = sub.add_parser("payouts", help="payouts to suppliers: compute, create, move along, list")
    actions = payouts.add_subparsers(dest="payouts_action", metavar="ACTION", required=True)
    p = actions.add_parser("compute", help="draft payouts for a period from the leads bought from each supplier")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--period", help="e.g. 2026-10 (month), 2026-W40 (ISO week) or 2026-10-01..2026-10-15 "
                   "(default: last month)")  # fmt: skip
    p.add_argument("--partner", action="append", help="only this supplier (partner code; repeatable)")
    p.add_argument("--allow-open-period", action="store_true", help="compute a period that has not ended yet")
    p.add_argument("--json", action="store_true", help="print the payout ids (created, refreshed, kept) as JSON")
    p.set_defaults(handler=compute)
    p = actions.add_parser("create", help="a payout by hand: --line 'description;quantity;unit price' (repeatable)")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--partner", required=True, help="the supplier's partner code")
    p.add_argument("--period", required=True, help="the period paid for: 2026-10 (month), 2026-W40 (ISO week) "
                   "or 2026-10-01..2026-10-15")  # fmt: skip
    p.add_argument("--line", action="append", required=True, metavar="DESCRIPTION;QUANTITY;PRICE",
                   help="a line: whole quantity and decimal unit price, e.g. 'October bonus;1;250.00' "
                        "(repeatable)")  # fmt: skip
    p.add_argument("--currency", help="ISO 4217 code, e.g. EUR (default: the partner's currency)")
    p.add_argument("--note", default="", help="a note kept with the payout (default: none)")
    p.add_argument("--json", action="store_true", help="print the payout with its lines as JSON")
    p.set_defaults(handler=create)
    for name, helptext in (("submit", "draft → pending (for review)"), ("ready", "pending → ready: self-invoice"),
                           ("paid", "ready → paid"), ("cancel", "cancel (a ready one's documents are reversed)"),
                           ("reopen", "pending → draft")):  # fmt: skip
        p = actions.add_parser(name, help=helptext)
        p.add_argument("payout", type=whole, help="the payout's id (see `payouts list`)")
        p.add_argument("--reason", default="", help="why, kept in the audit trail (required to cancel)")
        p.add_argument(
            "--reference", default="", help="payment reference, e.g. the bank transfer's (stored when marking paid)"
        )
        p.add_argument("--json", action="store_true", help="print the payout with its lines as JSON")
        p.set_defaults(handler=transition, to={"submit": "pending", "ready": "ready", "paid": "paid",
                                               "cancel": "cancelled", "reopen": "draft"}[name])  # fmt: skip
    p = actions.add_parser("self-invoice", help="make the self-invoice of a ready payout that has none yet")
    p.add_argument("payout", type=whole, help="the payout's id (see `payouts list`)")
    p.set_defaults(handler=generate)
    p = actions.add_parser("list", help="payouts of an entity")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--period", help="only this period, by its key as listed, e.g. 2026-10 or 2026-W40")
    p.add_argument("--status", help="only payouts in this status: draft, pending, ready, paid or cancelled")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=listing)
    p = actions.add_parser("document", help="write a self-billed document to a file (pdf, ubl or facturx)")
    p.add_argument("number", help="the self-billed document's number, e.g. SB-LEADFORGE-MEDIA-000001")
    p.add_argument("--entity", help="entity slug (default: look in every entity)")
    p.add_argument("--format", choices=("pdf", "ubl", "facturx"), default="pdf", help="file format (default: pdf)")
    p.add_argument(
        "--output", "-o", type=Path, help="file to write (default: the document's file name in the current folder)"
    )
    p.set_defaults(handler=document)

    sb = sub.add_parser("self-billing", help="the entity's self-billing switch and the partners' opt-ins")
    actions = sb.add_subparsers(dest="self_billing_action", metavar="ACTION", required=True)
    for name in ("on", "off"):
        p = actions.add_parser(name, help=f"switch self-billing {name} for the entity")
        p.add_argument("--entity", help=entity_help)
        p.set_defaults(handler=switch, on=name == "on")
    p = actions.add_parser("show", help="the switch and each supplier's opt-in")
    p.add_argument("--entity", help=entity_help)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=show)


def _payout(entity_slug: str | None, pk: int):  # type: ignore[no-untyped-def]
    from leadbill.payouts.models import Payout

    qs = Payout.objects.select_related("entity", "partner")
    if entity_slug:
        qs = qs.filter(entity=entity_of(entity_slug))
    payout = qs.filter(pk=pk).first()
    if payout is None:
        raise CommandError(f"no payout {pk}")
    return payout


def _summary(payout) -> None:  # type: ignore[no-untyped-def]
    from leadbill.payouts.selectors import payout_amounts

    docs = ", ".join(d.number for d in payout.documents.order_by("sequence")) or payout.self_billing or "-"
    figures = payout_amounts([payout])[payout.pk]  # the console's figures: an open payout's tax is estimated
    estimated = " (tax estimated)" if figures.estimated else ""
    console.print(f"Payout {payout.pk} {payout.partner.code} {payout.period_key} {payout.status}: net "
                  f"{amount(figures.net_minor, payout.currency)}, to pay {amount(figures.total_minor, payout.currency)}"
                  f"{estimated} · {docs}")  # fmt: skip


def compute(args: argparse.Namespace) -> int:
    from leadbill.payouts.services import payout_compute

    entity = entity_of(args.entity)
    partners = [partner_of(entity, code) for code in args.partner] if args.partner else None
    result = payout_compute(actor=args.actor, entity=entity, period=period_of(entity, args.period),
                            partners=partners, allow_open_period=args.allow_open_period)  # fmt: skip
    if args.json:
        print_json({"created": [p.pk for p in result.created], "refreshed": [p.pk for p in result.refreshed],
                    "kept": [p.pk for p in result.kept], "empty": result.empty})  # fmt: skip
        return 0
    for payout in result.created + result.refreshed:
        _summary(payout)
        for anomaly in payout.anomalies:
            console.print(f"  [yellow]![/yellow] {anomaly}")
    for payout in result.kept:
        console.print(f"payout {payout.pk} {payout.partner.code} is {payout.status}: kept as it is")
    if result.empty:
        console.print(f"nothing to pay: {', '.join(result.empty)}")
    return 0


def _line(text: str, index: int):  # type: ignore[no-untyped-def]
    from leadbill.payouts.services import ManualLine

    parts = [part.strip() for part in text.split(";")]
    if len(parts) != 3:
        raise CommandError(f"--line {index + 1}: give 'description;quantity;unit price', got {text!r}")
    quantity = whole_number(parts[1], max_digits=7)
    try:
        price = parse_decimal(parts[2], field="unit price")
    except DomainError:
        price = None
    if quantity is None or price is None:
        raise CommandError(f"--line {index + 1}: quantity is a whole number and price a decimal, got {text!r}")
    return ManualLine(parts[0], quantity, price)


def create(args: argparse.Namespace) -> int:
    from leadbill.payouts.selectors import payout_as_dict
    from leadbill.payouts.services import payout_create

    entity = entity_of(args.entity)
    payout = payout_create(actor=args.actor, partner=partner_of(entity, args.partner),
                           period=period_of(entity, args.period), lines=[_line(t, i) for i, t in enumerate(args.line)],
                           currency=args.currency, note=args.note)  # fmt: skip
    print_json(payout_as_dict(payout, lines=True)) if args.json else _summary(payout)
    return 0


def transition(args: argparse.Namespace) -> int:
    from leadbill.payouts.selectors import payout_as_dict
    from leadbill.payouts.services import payout_transition

    payout = payout_transition(actor=args.actor, payout=_payout(None, args.payout), to=args.to, reason=args.reason,
                               reference=args.reference)  # fmt: skip
    print_json(payout_as_dict(payout, lines=True)) if args.json else _summary(payout)
    return 0


def generate(args: argparse.Namespace) -> int:
    from leadbill.selfbilling.services import self_billing_generate

    payout = _payout(None, args.payout)
    self_billing_generate(actor=args.actor, payout=payout)
    payout.refresh_from_db()
    _summary(payout)
    return 0


def listing(args: argparse.Namespace) -> int:
    from leadbill.payouts.selectors import payout_amounts, payouts_as_dicts, payouts_of

    entity = entity_of(args.entity)
    qs = payouts_of(entity).order_by("-period_start", "partner__code", "pk")
    if args.period:
        qs = qs.filter(period_key=args.period)
    if args.status:
        qs = qs.filter(status=args.status)
    rows = list(qs.prefetch_related("documents")[:500])  # one query for every row's documents, not one each
    if args.json:
        print_json(payouts_as_dicts(rows))
        return 0
    if not rows:
        console.print(f"No payouts of {entity.slug} match")
        return 0
    figures = payout_amounts(rows)  # the console's figures: an open payout's tax is estimated (marked *)
    print_table(f"Payouts of {entity.slug}", ["Id", "Partner", "Period", "Status", "Net", "To pay", "Documents"],
                [(p.pk, p.partner.code, p.period_key, p.status, amount(figures[p.pk].net_minor, p.currency),
                  amount(figures[p.pk].total_minor, p.currency) + ("*" if figures[p.pk].estimated else ""),
                  ", ".join(d.number for d in p.documents.all()) or p.self_billing or "-")
                 for p in rows], right=(0, 4, 5), keep=(2,), drop=(3, 4))  # fmt: skip
    if any(f.estimated for f in figures.values()):
        console.print("* tax estimated until the self-invoice is issued")
    return 0


def document(args: argparse.Namespace) -> int:
    from leadbill.documents.services import document_file
    from leadbill.selfbilling.models import SelfBilledDocument

    qs = SelfBilledDocument.objects.filter(number=args.number)
    if args.entity:
        qs = qs.filter(entity=entity_of(args.entity))
    doc = qs.first()
    if doc is None:
        raise CommandError(f"no self-billed document {args.number!r}")
    file = document_file(doc, args.format, actor=args.actor)
    target = args.output or Path(file.name)
    if target.is_dir():
        target = target / file.name
    target.write_bytes(file.content)
    console.print(f"{target} ({len(file.content):,} bytes, sha256 {file.sha256[:12]}…)")
    return 0


def switch(args: argparse.Namespace) -> int:
    from leadbill.selfbilling.services import self_billing_switch

    entity = self_billing_switch(actor=args.actor, entity=entity_of(args.entity), on=args.on)
    console.print(f"self-billing is {'on' if entity.self_billing else 'off'} for {entity.slug}")
    return 0


def show(args: argparse.Namespace) -> int:
    from leadbill.partners.models import Partner
    from leadbill.selfbilling.selectors import self_billing_statuses

    entity = entity_of(args.entity)
    suppliers = list(Partner.objects.filter(entity=entity, is_supplier=True).order_by("code"))
    rows = [(p.code, st) for p, st in zip(suppliers, self_billing_statuses(entity, suppliers), strict=True)]
    if args.json:
        print_json({"entity": entity.slug, "enabled": entity.self_billing, "partners": dict(rows)})
        return 0
    console.print(f"self-billing is {'on' if entity.self_billing else 'off'} for {entity.slug}")
    print_table("Suppliers", ["partner", "opted in", "agreement", "tax %", "missing"],
                [(code, "yes" if st["opted_in"] else "no",
                  f"{st['agreement']['version']} by {st['agreement']['accepted_by']}" if st["agreement"] else "-",
                  st["tax_rate"] or "-", ", ".join(st["missing"]) or "-") for code, st in rows])  # fmt: skip
    return 0
