"""Entry point of the `leadbill` console command.

Each sub-command lives in `leadbill.cli.commands.<name>` and exposes
`register(subparsers)`; the command's handler receives the parsed arguments and
returns an exit code. Django is set up before any handler runs, and the database
is checked before any handler that needs it, so a first mistake (no home folder,
no tables yet, an unreachable server) is one line that says what to do, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence

COMMAND_MODULES = (
    "setup",
    "load",
    "imports",
    "runs",
    "invoices",
    "report",
    "ledger",
    "receivables",
    "books",
    "returns",
    "apikey",
    "users",
    "automation",
    "payouts",
    "payment_files",
    "bank",
    "verify",
    "demo",
)

# Commands that make the database themselves (or hand over to Django), so they run before it exists.
CREATES_DATABASE = frozenset({"migrate", "manage", "demo"})

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 70  # sysexits EX_SOFTWARE
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """An error the user caused; printed without a traceback, exit status 2."""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("leadbill")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadbill",
        description="Invoicing and self-billing for lead-distribution businesses.",
        epilog="The database is DATABASE_URL, or leadbill.sqlite3 in LEADBILL_HOME (default: the current folder).",
    )
    parser.add_argument("--version", action="version", version=f"leadbill {version()}")
    parser.add_argument("--actor", default=None, help="who is acting, for the audit trail (default: cli:$USER)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log background tasks, and show the traceback of internal errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"leadbill.cli.commands.{name}")
        module.register(sub)
    return parser


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    import django

    django.setup()


def check_home(command: str) -> None:
    """LEADBILL_HOME must be a folder; `migrate` and `demo` create it, the others say what to run."""
    home = os.environ.get("LEADBILL_HOME")
    if not home or os.path.isdir(home):
        return
    if os.path.exists(home):
        raise CommandError(f"LEADBILL_HOME={home} is not a folder")
    if command in ("migrate", "demo"):
        os.makedirs(home, exist_ok=True)
        print(f"created the home folder {home}", file=sys.stderr)
        return
    raise CommandError(f"LEADBILL_HOME={home} does not exist: create it with `leadbill migrate` (or mkdir -p {home})")


def database_name() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite database {settings['NAME']}"
    return f"{connection.vendor} database {settings.get('NAME')!r} on {settings.get('HOST') or 'localhost'}"


def missing_sqlite_file() -> str | None:
    """The path of the SQLite database file when it does not exist yet (connecting would create it)."""
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    in_memory = name == ":memory:" or name.startswith("file:") or "mode=memory" in name
    if connection.vendor != "sqlite" or in_memory or os.path.exists(name):
        return None
    return name


def first_line(exc: BaseException) -> str:
    """A database driver's message can run over many lines; people get the first."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def pending_migrations() -> int:
    """How many migrations the database lacks (about 40 ms: the migration graph is loaded)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


_checked = False


def check_database() -> None:
    """The tables exist and are up to date; otherwise one line that names the database and what to run.

    SQLite would create an empty file on the first connection, so a missing file is reported before
    connecting: running a command in the wrong folder must not leave a stray database there.
    """
    global _checked
    if _checked:
        return
    from django.db import DatabaseError

    name = missing_sqlite_file()
    if name is not None:
        hint = "" if os.environ.get("LEADBILL_HOME") else " (set LEADBILL_HOME to keep it in another folder)"
        raise CommandError(f"no Leadbill database at {name} yet: run `leadbill migrate` first{hint}")
    try:
        pending = pending_migrations()
    except DatabaseError as exc:
        raise CommandError(f"cannot use the {database_name()}: {first_line(exc)}") from None
    if pending:
        raise CommandError(
            f"the {database_name()} is not up to date ({pending} migrations to apply): run `leadbill migrate`"
        )
    _checked = True


def quiet_logs(verbose: bool) -> None:
    """Task-runner lines (`Task id=… state=RUNNING`) are for operators; people see them with --verbose."""
    logging.getLogger("django.tasks").setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    setup_django()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.actor is None:
        args.actor = f"cli:{os.environ.get('USER') or 'unknown'}"
    quiet_logs(args.verbose)
    from django.db import DatabaseError

    from leadbill.domain.errors import DomainError

    try:
        check_home(args.command)
        if args.command not in CREATES_DATABASE:
            check_database()
        return int(args.handler(args) or 0)
    except (CommandError, DomainError) as exc:
        print(f"leadbill: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # a path the user gave: missing folder, no permission, disk full
        where = f": {exc.filename}" if exc.filename else ""
        print(f"leadbill: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("leadbill: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DatabaseError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"leadbill: error: the database refused the command: {first_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR if args.command in CREATES_DATABASE else EXIT_INTERNAL_ERROR
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        print(
            f"leadbill: internal error: {type(exc).__name__}: {exc}"
            + ("" if args.verbose else " (run again with --verbose for the traceback)"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":  # `python -m leadbill.cli.main`: run the imported module's main, whose errors match
    from leadbill.cli.main import main as imported_main

    sys.exit(imported_main())
