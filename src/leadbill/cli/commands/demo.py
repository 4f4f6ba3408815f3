"""`leadbill demo`: realistic data in the configured database, then last month billed."""

from __future__ import annotations

import argparse
import os
import time

from leadbill.cli.arguments import whole


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="build demo data (2 entities, ~30 buyers, ~50,000 deliveries) and bill last month")
    p.add_argument("--reset", action="store_true", help="empty the database first")
    p.add_argument("--deliveries", type=whole, default=50_000, help="how many deliveries to create (default: 50000)")
    p.set_defaults(handler=demo)


def demo(args: argparse.Namespace) -> int:
    from django.conf import settings

    from leadbill.cli.main import CommandError
    from leadbill.cli.output import console
    from leadbill.demo.run import reset_database, run_demo

    started = time.perf_counter()
    db = settings.DATABASES["default"]
    console.print(f"[bold]Leadbill demo[/bold] on {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}")
    if args.reset:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        reset_database()
    try:
        summary = run_demo(console, deliveries=args.deliveries)
    except RuntimeError as exc:
        raise CommandError(str(exc)) from None
    home = os.environ.get("LEADBILL_HOME")
    prefix = f"LEADBILL_HOME={home} " if home else ""
    console.print(
        f"\nDone in {time.perf_counter() - started:.1f} s. The data stays in {db['NAME']}; look around with\n"
        f"  {prefix}.venv/bin/leadbill invoices list --entity acme-us\n"
        f"  {prefix}.venv/bin/leadbill invoices show US-000028 --json\n"
        f"  {prefix}.venv/bin/leadbill run preview --entity acme-eu --period {_last_month_key()}\n"
        f"  {prefix}.venv/bin/leadbill invoices einvoice US-000028 --format ubl\n"
        f"  {prefix}.venv/bin/leadbill report --entity acme-us --partner atlas-life-annuity "
        f"--from {_last_month_key()}-01 --to {_last_month_end()} --format pdf"
    )
    failures = sum(
        len(s["failures"]) for k, s in summary.items() if k not in ("documents", "api", "web", "self_billing")
    )  # type: ignore[index,arg-type]
    return 1 if failures else 0


def _last_month_key() -> str:
    from datetime import date, timedelta

    return f"{date.today().replace(day=1) - timedelta(days=1):%Y-%m}"


def _last_month_end() -> str:
    from datetime import date, timedelta

    return f"{date.today().replace(day=1) - timedelta(days=1):%Y-%m-%d}"
