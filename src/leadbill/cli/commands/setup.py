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
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from leadbill.cli.main import _where
    from leadbill.cli.output import console

    name = str(connection.settings_dict["NAME"])
    new_file = connection.vendor == "sqlite" and not _exists(name)
    executor = MigrationExecutor(connection)
    pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    call_command("migrate", verbosity=0, interactive=False)
    if new_file:
        where = "" if os.environ.get("LEADBILL_HOME") else " (LEADBILL_HOME is not set: the current folder)"
        console.print(f"Created the {_where()}{where}: {pending} migrations applied")
    elif pending:
        console.print(f"Upgraded the {_where()}: {pending} migrations applied")
    else:
        console.print(f"The {_where()} is up to date")
    return 0


def _exists(name: str) -> bool:
    import os

    return name == ":memory:" or name.startswith("file:") or os.path.exists(name)


def manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["leadbill", *args.rest])
    return 0
