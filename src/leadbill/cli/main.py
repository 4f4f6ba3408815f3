"""Entry point of the `leadbill` console command.

Each sub-command lives in `leadbill.cli.commands.<name>` and exposes
`register(subparsers)`; the command's handler receives the parsed arguments and
returns an exit code. Django is set up before any handler runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "setup",
    "load",
    "imports",
    "runs",
    "invoices",
    "report",
    "ledger",
    "returns",
    "apikey",
    "users",
    "automation",
    "payouts",
    "demo",
)


class CommandError(Exception):
    """An error the user caused; printed without a traceback, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadbill", description="Invoicing and self-billing for lead-distribution businesses."
    )
    parser.add_argument("--actor", default=None, help="who is acting, for the audit trail (default: cli:$USER)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"leadbill.cli.commands.{name}")
        module.register(sub)
    return parser


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    import django

    django.setup()


def main(argv: Sequence[str] | None = None) -> int:
    setup_django()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.actor is None:
        args.actor = f"cli:{os.environ.get('USER') or 'unknown'}"
    from leadbill.domain.errors import DomainError

    try:
        return int(args.handler(args) or 0)
    except (CommandError, DomainError) as exc:
        print(f"leadbill: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
