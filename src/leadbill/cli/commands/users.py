"""`leadbill users add|list`: staff logins for the console (the first admin of an entity starts here)."""

from __future__ import annotations

import argparse
import getpass
import sys

from leadbill.cli.lookups import entity_of
from leadbill.cli.output import console, print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    users = sub.add_parser("users", help="staff logins of the web console")
    actions = users.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    p = actions.add_parser("add", help="give a person a role in an entity (emails an invitation unless --password)")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--email", required=True, help="the person's email address, also their sign-in name")
    p.add_argument("--name", default="", help="the person's name (default: none)")
    p.add_argument("--role", required=True, choices=("admin", "finance", "readonly"),
                   help="readonly: read everything; finance: also issue, pay, void, decide returns, edit partners; "
                        "admin: also staff, roles, logo and footer")  # fmt: skip
    p.add_argument("--password", action="store_true", help="type a password now instead of emailing an invitation")
    p.add_argument("--base-url", default="",
                   help="the console's address for the invitation link, e.g. https://bill.example "
                        "(default: $LEADBILL_BASE_URL, else http://127.0.0.1:8000)")  # fmt: skip
    p.set_defaults(handler=add)
    p = actions.add_parser("list", help="the entity's staff and their roles")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=list_users)


def add(args: argparse.Namespace) -> int:
    from leadbill.web.services import staff_add

    entity = entity_of(args.entity)
    password = None
    if args.password:
        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    membership = staff_add(actor=args.actor, entity=entity, email=args.email, name=args.name, role=args.role,
                           password=password, base_url=args.base_url)  # fmt: skip
    how = "can sign in now" if password else "was sent an invitation"
    console.print(f"{membership.user.email} is {args.role} in {entity.slug} and {how}.")
    return 0


def list_users(args: argparse.Namespace) -> int:
    from leadbill.web.models import StaffMembership

    entity = entity_of(args.entity)
    rows = [{"email": m.user.email, "name": m.user.first_name, "role": m.role,
             "last_login": m.user.last_login} for m in
            StaffMembership.objects.filter(entity=entity).select_related("user").order_by("user__email")]  # fmt: skip
    if args.json:
        print_json(rows)
    else:
        print_table(f"Staff of {entity.slug}", ["Email", "Name", "Role", "Last sign-in"],
                    [(r["email"], r["name"], r["role"], f"{r['last_login']:%Y-%m-%d %H:%M}" if r["last_login"] else "never")
                     for r in rows], keep=(0, 3), drop=(1,))  # fmt: skip
    return 0
