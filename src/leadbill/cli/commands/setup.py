"""`leadbill migrate` and `leadbill manage ...`: database set-up and Django's own commands."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("migrate", help="create or upgrade the database tables")
    p.set_defaults(handler=migrate)
    p = sub.add_parser("manage", help="run a Django management command", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(handler=manage)


def migrate(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return 0


def manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["leadbill", *args.rest])
    return 0
