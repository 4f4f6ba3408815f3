"""`leadbill migrate` and `leadbill manage ...`: database set-up and Django's own commands."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("migrate", help="create or upgrade the database tables")
    p.set_defaults(handler=migrate)
    p = sub.add_parser("manage", help="run a Django management command", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the Django command and its arguments, e.g. `showmigrations`")
    p.set_defaults(handler=manage)


def migrate(args: argparse.Namespace) -> int:
    import os

    from django.core.management import call_command

    from leadbill.cli.main import database_name, missing_sqlite_file, pending_migrations
    from leadbill.cli.output import console

    new_file = missing_sqlite_file() is not None
    pending = pending_migrations()
    call_command("migrate", verbosity=0, interactive=False)
    if new_file:
        where = "" if os.environ.get("LEADBILL_HOME") else " (LEADBILL_HOME is not set: the current folder)"
        console.print(f"Created the {database_name()}{where}: {pending} migrations applied")
    elif pending:
        console.print(f"Upgraded the {database_name()}: {pending} migrations applied")
    else:
        console.print(f"The {database_name()} is up to date")
    return 0


def manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["leadbill", *args.rest])
    return 0
