"""`leadbill verify`: recount the billing summary from the deliveries and report any drift."""

from __future__ import annotations

import argparse

from leadbill.cli.lookups import entity_of
from leadbill.cli.output import print_json

EXIT_DRIFT = 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "verify",
        help="check the billing summary (what previews and the dashboard read) against the deliveries",
        description="Recounts every entity's billing summary from its deliveries and lists each difference. "
        "Exit status 0: it agrees; 1: drift found (and repaired with --repair).",
    )
    p.add_argument("--entity", help="entity slug (default: every entity)")
    p.add_argument("--repair", action="store_true", help="replace a drifting summary with the recount (audited)")
    p.add_argument("--json", action="store_true", help="print JSON for other tools")
    p.set_defaults(handler=verify)


def verify(args: argparse.Namespace) -> int:
    from leadbill.deliveries.services import billing_summary_repair, billing_summary_verify
    from leadbill.entities.models import Entity

    entities = [entity_of(args.entity)] if args.entity else list(Entity.objects.order_by("slug"))
    report: dict[str, list[str]] = {}
    for entity in entities:
        if args.repair:
            report[entity.slug] = billing_summary_repair(actor=args.actor, entity=entity)
        else:
            report[entity.slug] = billing_summary_verify(entity=entity)
    drifting = {slug: found for slug, found in report.items() if found}
    if args.json:
        print_json({"entities": len(report), "drift": drifting, "repaired": bool(args.repair and drifting)})
    else:
        for slug, found in report.items():
            if not found:
                print(f"{slug}: the billing summary agrees with the deliveries")
                continue
            print(f"{slug}: {len(found)} difference{'s' if len(found) != 1 else ''}"
                  f"{' (repaired)' if args.repair else ''}")  # fmt: skip
            for line in found[:50]:
                print(f"  {line}")
            if len(found) > 50:
                print(f"  … and {len(found) - 50} more")
    return EXIT_DRIFT if drifting else 0
