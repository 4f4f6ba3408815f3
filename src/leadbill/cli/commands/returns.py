"""`leadbill returns list|accept|reject`: review and decide returned leads.

accept/reject decide each return on its own: one that is not requested any more is
reported and the others are still decided (exit status 1 if any was refused).
"""

from __future__ import annotations

import argparse
from typing import Any

from leadbill.cli.arguments import whole
from leadbill.cli.commands.imports import entity_by_slug
from leadbill.cli.main import CommandError
from leadbill.cli.output import print_json, print_table

STATUSES = ("requested", "accepted", "rejected", "all")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("returns", help="list, accept or reject returned leads")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    a = actions.add_parser("list", help="list an entity's returns (default: those waiting for a decision)")
    a.add_argument("--entity", required=True, metavar="SLUG", help="slug of the entity whose returns are listed")
    a.add_argument("--status", choices=STATUSES, default="requested", help="which returns (default: requested)")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(handler=list_returns)

    a = actions.add_parser("accept", help="accept requested returns: their leads will be credited")
    a.add_argument("ids", metavar="ID", type=whole, nargs="+", help="return id(s), as shown by `returns list`")
    a.add_argument("--note", default="", help="a note kept with the decision")
    a.add_argument("--entity", metavar="SLUG", help="refuse ids of other entities")
    a.set_defaults(handler=decide, accept=True)

    a = actions.add_parser("reject", help="reject requested returns (a reason is required)")
    a.add_argument("ids", metavar="ID", type=whole, nargs="+", help="return id(s), as shown by `returns list`")
    a.add_argument("--note", required=True, metavar="REASON", help="why the returns are rejected")
    a.add_argument("--entity", metavar="SLUG", help="refuse ids of other entities")
    a.set_defaults(handler=decide, accept=False)


def _as_row(ret: Any) -> dict[str, Any]:
    delivery = ret.delivery
    return {
        "id": ret.pk,
        "external_id": delivery.external_id,
        "partner": delivery.partner.code,
        "lead_id": delivery.lead_id,
        "delivered_at": delivery.delivered_at,
        "requested_at": ret.requested_at,
        "reason": ret.reason,
        "status": ret.status,
        "decided_at": ret.decided_at,
        "decided_by": ret.decided_by,
        "note": ret.decision_note,
    }


def list_returns(args: argparse.Namespace) -> int:
    from leadbill.deliveries.selectors import returns_for_entity

    entity = entity_by_slug(args.entity)
    rows = [_as_row(ret) for ret in returns_for_entity(entity, status=None if args.status == "all" else args.status)]
    if args.json:
        print_json(rows)
        return 0
    print_table(
        f"{entity.slug}: {args.status} returns ({len(rows)})",
        ["id", "external id", "partner", "delivered", "requested", "status", "reason"],
        [
            [
                r["id"],
                r["external_id"],
                r["partner"],
                f"{r['delivered_at']:%Y-%m-%d %H:%M}",
                f"{r['requested_at']:%Y-%m-%d %H:%M}",
                r["status"],
                r["reason"],
            ]
            for r in rows
        ],
        right=(0,),
        keep=(1, 3, 4),
        drop=(3, 2),
    )
    return 0


def decide(args: argparse.Namespace) -> int:
    from leadbill.deliveries.selectors import returns_by_ids
    from leadbill.deliveries.services import returns_decide

    entity = entity_by_slug(args.entity) if args.entity else None
    found = returns_by_ids(args.ids, entity=entity)
    missing = [str(i) for i in args.ids if i not in found]
    if missing:
        where = f" of entity {entity.slug!r}" if entity else ""
        raise CommandError(f"no return{'s' if len(missing) > 1 else ''} {', '.join(missing)}{where}")
    result = returns_decide(
        actor=args.actor, returns=[found[i] for i in dict.fromkeys(args.ids)], accept=args.accept, note=args.note
    )
    verb = "accepted" if args.accept else "rejected"
    for ret in result.decided:
        print(f"return {ret.pk} ({ret.delivery.external_id}) {verb}")
    for ret, message in result.errors:
        print(f"return {ret.pk} ({ret.delivery.external_id}): {message}")
    return 1 if result.errors else 0
