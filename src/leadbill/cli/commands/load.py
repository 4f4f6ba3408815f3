"""`leadbill load FILE.yaml`: create or update the set-up described by a file (docs/setup-file.md)."""

from __future__ import annotations

import argparse
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


def load(args: argparse.Namespace) -> int:
    from leadbill.loader.schema import SetupFileError
    from leadbill.loader.services import KINDS, setup_load, setup_read

    try:
        text = args.file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{args.file}: no such file") from None
    except UnicodeDecodeError:
        raise CommandError(f"{args.file}: not UTF-8 text") from None
    except OSError as exc:
        raise CommandError(f"{args.file}: {exc.strerror}") from None

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
