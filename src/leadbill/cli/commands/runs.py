"""`leadbill run preview|issue|show|list`: the invoice run for a period."""

from __future__ import annotations

import argparse
from typing import Any

from leadbill.cli.lookups import day_of, entity_of, period_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import console, print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = sub.add_parser("run", help="preview or issue the invoices of a period")
    actions = run.add_subparsers(dest="run_action", metavar="ACTION", required=True)
    for name, handler, text in (
        ("preview", preview, "the delivery summary per partner with anomalies (writes nothing)"),
        ("issue", issue, "issue one invoice per partner with billable activity"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
        p.add_argument("--period", help="2026-01 (month), 2026-W03 (ISO week) or 2026-01-01..2026-01-15; "
                       "default: last month")  # fmt: skip
        p.add_argument("--partner", action="append", help="only this partner code (repeatable)")
        p.add_argument("--json", action="store_true", help="print JSON for other tools")
        if name == "issue":
            p.add_argument("--issue-date", help="YYYY-MM-DD (default: today in the entity's time zone)")
            p.add_argument("--allow-open-period", action="store_true",
                           help="issue a period that has not ended yet")  # fmt: skip
            p.add_argument("--draft", action="store_true",
                           help="write drafts for review (leads reserved, no numbers); issue them with "
                                "`leadbill invoices issue`")  # fmt: skip
        p.set_defaults(handler=handler)
    p = actions.add_parser("show", help="a past run's summary")
    p.add_argument("run_id", type=int, help="the run's id (see `run list`)")
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=show)
    p = actions.add_parser("list", help="past runs")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=list_runs)


def print_preview(preview: Any) -> None:
    from leadbill.invoicing.selectors import money

    rows = []
    for d in preview.drafts:
        rows.append(
            (
                d.partner.code,
                d.partner.billing_mode,
                d.facts.delivered,
                d.facts.returned_unbilled + d.draft.leads_credited,
                d.billable,
                d.facts.late or "",
                f"{money(d.draft.total_minor, d.draft.currency)} {d.draft.currency}" if d.draft.lines else "-",
                len(d.anomalies) or "",
            )
        )
    print_table(
        f"Delivery summary {preview.entity.slug} \u2014 {preview.period.label()} (preview, nothing written)",
        ["Partner", "Mode", "Delivered", "Returned", "Billable", "Late", "Amount", "Anomalies"],
        rows,
        right=(2, 3, 4, 5, 6, 7),
    )
    for d in preview.drafts:
        for anomaly in d.anomalies:
            console.print(f"  [yellow]![/yellow] {d.partner.code}: {anomaly}")
    totals: dict[str, int] = {}
    for d in preview.drafts:
        totals[d.draft.currency] = totals.get(d.draft.currency, 0) + d.draft.total_minor
    console.print(
        f"{sum(1 for d in preview.drafts if d.draft.lines)} documents would be issued; total "
        + ", ".join(f"{money(v, k)} {k}" for k, v in sorted(totals.items()))
        + (f"; already invoiced: {len(preview.already_invoiced)}" if preview.already_invoiced else "")
    )


def preview(args: argparse.Namespace) -> int:
    from leadbill.invoicing.services import invoice_run_preview

    entity = entity_of(args.entity)
    result = invoice_run_preview(entity=entity, period=period_of(entity, args.period), partners=args.partner)
    if args.json:
        from leadbill.invoicing.selectors import preview_as_dict

        print_json(preview_as_dict(result))
    else:
        print_preview(result)
    return 0


def issue(args: argparse.Namespace) -> int:
    from leadbill.invoicing.selectors import run_as_dict
    from leadbill.invoicing.services import invoice_run_issue

    entity = entity_of(args.entity)
    result = invoice_run_issue(
        actor=args.actor, entity=entity, period=period_of(entity, args.period), partners=args.partner,
        issue_date=day_of(args.issue_date), draft=args.draft, allow_open_period=args.allow_open_period,
    )  # fmt: skip
    if args.json:
        print_json(run_as_dict(result.run))
    else:
        print_issued(result)
    return 1 if result.failures else 0


def print_issued(result: Any) -> None:
    from leadbill.invoicing.selectors import display_number, money

    print_table(
        f"Issued \u2014 run {result.run.pk}, period {result.run.period_key}",
        ["Number", "Kind", "Partner", "Leads", "Returned", "Total", "Due"],
        [
            (display_number(inv), inv.kind, inv.partner.code, inv.leads_billed, inv.leads_returned,
             f"{money(inv.total_minor, inv.currency)} {inv.currency}", inv.due_date or "")
            for inv in result.issued
        ],
        right=(3, 4, 5),
    )  # fmt: skip
    if result.skipped:
        console.print(f"Already invoiced for this period (skipped): {', '.join(result.skipped)}")
    for code, reason in result.failures.items():
        console.print(f"[red]Not issued[/red] {code}: {reason}")


def show(args: argparse.Namespace) -> int:
    from leadbill.invoicing.models import InvoiceRun
    from leadbill.invoicing.selectors import run_as_dict

    try:
        run = InvoiceRun.objects.select_related("entity").get(pk=args.run_id)
    except InvoiceRun.DoesNotExist:
        raise CommandError(f"no run {args.run_id}") from None
    data = run_as_dict(run)
    if args.json:
        print_json(data)
    else:
        for key, value in data.items():
            console.print(f"[bold]{key}[/bold]: {value}")
    return 0


def list_runs(args: argparse.Namespace) -> int:
    from leadbill.invoicing.models import InvoiceRun
    from leadbill.invoicing.selectors import run_as_dict

    entity = entity_of(args.entity)
    runs = [run_as_dict(r) for r in InvoiceRun.objects.filter(entity=entity).select_related("entity").order_by("-pk")]
    if args.json:
        print_json(runs)
    else:
        print_table("Runs", ["Id", "Period", "Actor", "Started", "Issued", "Failures"],
                    [(r["id"], r["period"], r["actor"], f"{r['started_at']:%Y-%m-%d %H:%M}",
                      len(r.get("issued", [])), len(r.get("failures", {}))) for r in runs])  # fmt: skip
    return 0
