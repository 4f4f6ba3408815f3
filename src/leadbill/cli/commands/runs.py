"""`leadbill run preview|issue|show|list`: the invoice run for a period."""

from __future__ import annotations

import argparse
from typing import Any

from leadbill.cli.arguments import whole
from leadbill.cli.lookups import day_of, entity_of, period_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import amount, console, print_json, print_table


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
    p = actions.add_parser("release", help="release a partner's document the safety bounds held back (audited)")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--period", required=True, help="the period the run holds it for: 2026-01, 2026-W03, ...")
    p.add_argument("--partner", required=True, help="the partner's code")
    p.add_argument("--reason", required=True, help="why it may go to the buyer (kept in the audit log)")
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=release)
    p = actions.add_parser("show", help="a past run's summary")
    p.add_argument("run_id", type=whole, help="the run's id (see `run list`)")
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=show)
    p = actions.add_parser("list", help="past runs")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=list_runs)


def print_preview(preview: Any) -> None:
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
                amount(d.draft.total_minor, d.draft.currency) if d.draft.lines else "-",
                len(d.anomalies) or "",
            )
        )
    title = f"Delivery summary {preview.entity.slug} \u2014 {preview.period.label()} (preview, nothing written)"
    if rows:
        print_table(
            title,
            ["Partner", "Mode", "Delivered", "Returned", "Billable", "Late", "Amount", "Anomalies"],
            rows,
            right=(2, 3, 4, 5, 6, 7),
            keep=(0,),
            drop=(1, 5, 3),
        )
    else:
        console.print(title)
    for d in preview.drafts:
        for anomaly in d.anomalies:
            console.print(f"  [yellow]![/yellow] {d.partner.code}: {anomaly}")
        for reason in d.held:
            console.print(f"  [red]Held[/red] {d.partner.code}: {reason}", highlight=False)
    totals: dict[str, int] = {}
    count = 0
    for d in preview.drafts:
        if d.draft.lines and not d.held:
            count += 1
            totals[d.draft.currency] = totals.get(d.draft.currency, 0) + d.draft.total_minor
    done = preview.already_invoiced
    already = f"already invoiced for this period: {', '.join(p.code for p in done)}" if done else ""
    if count:
        documents = "1 document" if count == 1 else f"{count} documents"
        total = ", ".join(amount(v, k) for k, v in sorted(totals.items()))
        console.print(f"{documents} would be issued, total {total}" + (f"; {already}" if already else ""))
    elif done:
        console.print(f"Nothing to issue: {already}")
    else:
        console.print("Nothing to issue: no billable activity in this period")


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
    """Say what happened: documents issued, drafts written, or nothing to do (and why)."""
    from leadbill.invoicing.selectors import display_number

    run = result.run
    if result.issued:
        heading = (
            f"Drafts \u2014 run {run.pk}, period {run.period_key}: review, then `leadbill invoices issue`"
            if all(inv.status == "draft" for inv in result.issued)
            else f"Issued \u2014 run {run.pk}, period {run.period_key}"
        )
        print_table(
            heading,
            ["Number", "Kind", "Partner", "Leads", "Returned", "Total", "Due"],
            [
                (display_number(inv), inv.kind, inv.partner.code, inv.leads_billed, inv.leads_returned,
                 amount(inv.total_minor, inv.currency), inv.due_date)
                for inv in result.issued
            ],
            right=(3, 4, 5), keep=(0, 6), drop=(1, 4),
        )  # fmt: skip
    elif not result.failures:
        console.print(f"Nothing to issue for period {run.period_key} (run {run.pk})")
    if result.skipped:
        console.print(f"Already invoiced for this period (skipped): {', '.join(result.skipped)}")
    for code, reason in result.failures.items():
        console.print(f"[red]Not issued[/red] {code}: {reason}")
    _print_held(result.held, run.period_key)


def _print_held(held: dict[str, list[str]], period: str) -> None:
    for code, reasons in held.items():
        console.print(f"[red]Held[/red] {code} (not issued): {'; '.join(reasons)}", highlight=False)
    if held:
        console.print(f"Review, then `leadbill run release --period {period} --partner CODE --reason ...` "
                      "and issue again", highlight=False)  # fmt: skip


def release(args: argparse.Namespace) -> int:
    from leadbill.cli.lookups import partner_of
    from leadbill.domain.errors import DomainError
    from leadbill.invoicing.bounds import safety_release

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    period = period_of(entity, args.period)
    try:
        done = safety_release(actor=args.actor, entity=entity, partner=partner, period=period, reason=args.reason)
    except DomainError as exc:
        raise CommandError(f"not released: {exc}") from None
    if args.json:
        from leadbill.invoicing.selectors import money

        print_json({"partner": partner.code, "period": done.period_key, "total": money(done.total_minor,
                    done.currency), "currency": done.currency, "reasons": done.reasons, "reason": done.reason,
                    "released_by": done.released_by, "released_at": done.released_at})  # fmt: skip
    else:
        console.print(f"Released {partner.code} for {period.label()}: {amount(done.total_minor, done.currency)} "
                      "(the next run issues it; a larger total is held again)", highlight=False)  # fmt: skip
    return 0


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
        return 0
    finished = f"{run.finished_at:%Y-%m-%d %H:%M} UTC" if run.finished_at else "not finished"
    console.print(f"[bold]Run {run.pk}[/bold] \u2014 {run.entity.slug}, period {run.period_key} ({_mode(run)})")
    console.print(f"Started {run.started_at:%Y-%m-%d %H:%M} UTC by {run.actor}; finished: {finished}")
    console.print(f"Status: {run.state}", highlight=False)
    if run.summary.get("stale"):
        console.print(f"[red]Failed (stale)[/red]: {run.summary.get('error')}", highlight=False)
    drafts = data.get("drafts") or []
    console.print(f"Issued: {', '.join(data.get('issued') or []) or 'none'}")
    if drafts:
        console.print(f"Drafts: {', '.join(f'draft-{pk}' for pk in drafts)}")
    skipped = data.get("skipped_already_invoiced") or []
    if skipped:
        console.print(f"Already invoiced (skipped): {', '.join(skipped)}")
    for code, reason in (data.get("failures") or {}).items():
        console.print(f"[red]Not issued[/red] {code}: {reason}")
    _print_held(data.get("held") or {}, run.period_key)
    totals = data.get("total_minor_by_currency") or {}
    if totals:
        console.print("Total: " + ", ".join(amount(v, k) for k, v in sorted(totals.items())))
    return 0


def _mode(run: Any) -> str:
    return "drafts" if run.draft or (run.summary.get("drafts") and not run.summary.get("issued")) else run.mode


def list_runs(args: argparse.Namespace) -> int:
    from leadbill.invoicing.models import InvoiceRun
    from leadbill.invoicing.selectors import run_as_dict

    entity = entity_of(args.entity)
    runs = list(InvoiceRun.objects.filter(entity=entity).select_related("entity").order_by("-pk"))
    if args.json:
        print_json([run_as_dict(r) for r in runs])
        return 0
    if not runs:
        console.print(f"No runs of {entity.slug} yet")
        return 0
    print_table(f"Runs of {entity.slug}",
                ["Id", "Period", "Mode", "Actor", "Started (UTC)", "Status", "Documents", "Failures"],
                [(r.pk, r.period_key, _mode(r), r.actor, f"{r.started_at:%Y-%m-%d %H:%M}", r.state,
                  len(r.summary.get("issued") or r.summary.get("drafts") or []), len(r.summary.get("failures") or {}))
                 for r in runs],
                right=(0, 6, 7), keep=(1, 4, 5), drop=(3, 2))  # fmt: skip
    return 0
