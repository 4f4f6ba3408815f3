"""`leadbill load FILE.yaml`: create or update the set-up described by a file (docs/setup-file.md)."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

from leadbill.cli.main import CommandError
from leadbill.cli.output import console, print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "load",
        help="create or update entities, partners, lead types and price plans from a YAML file",
        description="Validate the whole file first; refuse it with every problem listed, or apply it "
        "in one transaction. Loading the same file again changes nothing.",
    )
    p.add_argument("file", type=Path, metavar="FILE.yaml", help="the set-up file (docs/setup-file.md)")
    p.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=load)


SETUP_MAX_BYTES = 5 * 1024 * 1024  # a set-up file is a few kilobytes; anything near this is not one


def read_setup_file(path: Path) -> str:
    """The file's text, read only if it is a regular file of at most SETUP_MAX_BYTES (never more is read).

    A device (/dev/zero), FIFO or folder is refused unread; the open does not block on a FIFO.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CommandError(f"{path}: not a regular file; give the path of a YAML set-up file")
        if info.st_size > SETUP_MAX_BYTES:
            raise CommandError(f"{path}: {info.st_size:,} bytes; a set-up file may have at most {SETUP_MAX_BYTES:,}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            content = f.read(SETUP_MAX_BYTES + 1)  # a file that grew since fstat still stops here
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(content) > SETUP_MAX_BYTES:
        raise CommandError(f"{path}: more than {SETUP_MAX_BYTES:,} bytes; a set-up file may have at most that")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None


def load(args: argparse.Namespace) -> int:
    from leadbill.loader.schema import SetupFileError
    from leadbill.loader.services import KINDS, setup_load, setup_read

    text = read_setup_file(args.file)

    try:
        result = setup_load(
            actor=args.actor, document=setup_read(text, base_dir=args.file.parent), dry_run=args.dry_run
        )
    except SetupFileError as exc:
        if args.json:
            print_json(
                {
                    "file": str(args.file),
                    "ok": False,
                    "problems": [{"path": p.path, "message": p.message} for p in exc.problems],
                }
            )
        else:
            print(f"leadbill: error: {args.file}: {exc.message}", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
        return 2

    if args.json:
        print_json({"file": str(args.file), "ok": True, **result.as_dict()})
        return 0
    print_table(
        f"{args.file}: dry run, nothing written" if args.dry_run else f"{args.file}: loaded",
        ["kind", "created", "updated", "unchanged"],
        [[kind, *result.counts[kind].values()] for kind in KINDS],
        right=(1, 2, 3),
    )
    if result.changes:
        print_table(
            "Changes",
            ["action", "kind", "key", "fields", "at"],
            [[c.action, c.kind, c.key, ", ".join(c.fields), c.path] for c in result.changes],
            drop=(4, 3),
        )
    prefix = "dry run: " if args.dry_run else ""
    console.print(f"{prefix}{result.summary()}", highlight=False)
    return 0
