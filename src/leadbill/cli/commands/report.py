"""`leadbill report`: the per-lead invoice report of one partner, as CSV (streamed) or PDF."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leadbill.cli.lookups import day_of, entity_of, partner_of
from leadbill.cli.main import CommandError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report",
        help="per-lead detail of one partner for a date range (CSV or PDF)",
        description="Every lead delivered to the partner from --from to --to (days in the entity's time zone, "
        "both included): lead fields, billed price and invoice, return and credit.",
    )
    p.add_argument("--partner", required=True, help="partner code")
    p.add_argument("--from", dest="first_day", required=True, metavar="YYYY-MM-DD", help="first day (included)")
    p.add_argument("--to", dest="last_day", required=True, metavar="YYYY-MM-DD", help="last day (included)")
    p.add_argument("--lead-type", help="only this lead type (default: all)")
    p.add_argument("--format", choices=["csv", "pdf"], default="csv", help="csv (streamed) or pdf (default: csv)")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: stdout for CSV, ./report-….pdf for PDF)")
    p.set_defaults(handler=report)


def report(args: argparse.Namespace) -> int:
    from leadbill.catalog.models import LeadType
    from leadbill.documents.report import ReportQuery, csv_chunks, report_pdf
    from leadbill.domain.errors import DomainError

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    lead_type = None
    if args.lead_type:
        lead_type = LeadType.objects.filter(entity=entity, code=args.lead_type).first()
        if lead_type is None:
            raise CommandError(f"unknown lead type {args.lead_type!r} in entity {entity.slug}")
    first, last = day_of(args.first_day), day_of(args.last_day)
    assert first is not None and last is not None
    try:
        query = ReportQuery(partner, first, last, lead_type)
        name = f"report-{partner.code}{'-' + lead_type.code if lead_type else ''}-{first}-{last}.{args.format}"
        if args.output is not None and args.output.is_dir():
            args.output = args.output / name
        if args.format == "pdf":
            content = report_pdf(query)
            target = args.output or Path(name)
            if str(target) == "-":
                sys.stdout.buffer.write(content)
            else:
                target.write_bytes(content)
                print(f"wrote {target} ({len(content):,} bytes)", file=sys.stderr)
            return 0
        out = sys.stdout.buffer if args.output is None or str(args.output) == "-" else args.output.open("wb")
        try:
            for chunk in csv_chunks(query):
                out.write(chunk)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
                print(f"wrote {args.output}", file=sys.stderr)
    except DomainError as exc:
        raise CommandError(str(exc)) from None
    return 0
