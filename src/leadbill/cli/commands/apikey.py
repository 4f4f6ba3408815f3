"""`leadbill apikey create|list|revoke`: keys for the REST API, shown once, stored hashed.

`leadbill serve` runs the API (and later the web console) behind gunicorn.
"""

from __future__ import annotations

import argparse
import os
import sys

from leadbill.cli.arguments import whole, whole_from_env
from leadbill.cli.lookups import entity_of, partner_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import console, print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    key = sub.add_parser("apikey", help="create, list and revoke API keys")
    actions = key.add_subparsers(dest="apikey_action", metavar="ACTION", required=True)
    p = actions.add_parser("create", help="a new key; the token is printed once and never stored")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--name", required=True, help="who or what uses the key, e.g. 'router-prod'")
    p.add_argument("--scope", required=True, choices=("ingest", "full", "partner"),
                   help="ingest: push deliveries and returns; full: everything; partner: one partner's documents")  # fmt: skip
    p.add_argument("--partner", help="partner code of a partner key (required for --scope partner, refused for others)")
    p.add_argument("--json", action="store_true", help="print the key and its token as JSON")
    p.set_defaults(handler=create)
    p = actions.add_parser("list", help="the entity's keys (never their secrets)")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=list_keys)
    p = actions.add_parser("revoke", help="refuse every later request with this key")
    p.add_argument("prefix", help="the key's prefix (the 12 characters after lb_); the whole token works too")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.set_defaults(handler=revoke)

    serve = sub.add_parser("serve", help="run the console, portal and API with gunicorn (a production server)")
    serve.add_argument("--bind", default=os.environ.get("LEADBILL_BIND", "127.0.0.1:8000"), metavar="HOST:PORT",
                       help="address to listen on (default: $LEADBILL_BIND, else 127.0.0.1:8000)")  # fmt: skip
    serve.add_argument("--workers", type=whole, default=whole_from_env("LEADBILL_WORKERS", 2),
                       help="number of gunicorn worker processes (default: $LEADBILL_WORKERS, else 2)")  # fmt: skip
    serve.set_defaults(handler=run_server)


def _as_dict(key: object) -> dict[str, object]:
    from leadbill.api.models import ApiKey

    assert isinstance(key, ApiKey)
    return {
        "prefix": key.prefix,
        "name": key.name,
        "scope": key.scope,
        "partner": key.partner.code if key.partner else None,
        "created_by": key.created_by,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }


def create(args: argparse.Namespace) -> int:
    from leadbill.api.keys import api_key_create

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner) if args.partner else None
    new = api_key_create(actor=args.actor, entity=entity, name=args.name, scope=args.scope, partner=partner)
    if args.json:
        print_json({**_as_dict(new.key), "token": new.token})
    else:
        console.print(f"API key [bold]{new.key.name}[/bold] ({new.key.scope}) for {entity.slug}"
                      + (f", partner {partner.code}" if partner else ""))  # fmt: skip
        console.print("Token (shown once, store it now):", style="bold")
        print(new.token)
    return 0


def list_keys(args: argparse.Namespace) -> int:
    from leadbill.api.models import ApiKey

    entity = entity_of(args.entity)
    keys = [_as_dict(k) for k in ApiKey.objects.filter(entity=entity).select_related("partner").order_by("pk")]
    if args.json:
        print_json(keys)
    else:
        print_table(f"API keys of {entity.slug}", ["Prefix", "Name", "Scope", "Partner", "Created", "Last used", "Revoked"],
                    [(k["prefix"], k["name"], k["scope"], k["partner"] or "", f"{k['created_at']:%Y-%m-%d}",
                      f"{k['last_used_at']:%Y-%m-%d %H:%M}" if k["last_used_at"] else "",
                      f"{k['revoked_at']:%Y-%m-%d %H:%M}" if k["revoked_at"] else "") for k in keys],
                    keep=(0, 4, 5, 6), drop=(4, 3, 5))  # fmt: skip
    return 0


def revoke(args: argparse.Namespace) -> int:
    from leadbill.api.keys import api_key_revoke
    from leadbill.api.models import ApiKey

    entity = entity_of(args.entity)
    prefix = args.prefix.removeprefix("lb_").split("_")[0]
    key = ApiKey.objects.filter(entity=entity, prefix=prefix).first()
    if key is None:
        raise CommandError(f"no API key {prefix!r} in entity {entity.slug}")
    api_key_revoke(actor=args.actor, key=key)
    console.print(f"revoked {key.name} (lb_{key.prefix}_…)")
    return 0


SECRET_KEY_NEEDED = (
    "SECRET_KEY is not set: with DATABASE_URL every process needs the same key, so set SECRET_KEY to a long "
    "random string (python -c 'import secrets; print(secrets.token_urlsafe(50))') and start again"
)


def serve_refusal(secret_key_source: str) -> str | None:
    """Why `serve` must not start with this key, or None: a per-process random key would sign what no other worker reads."""
    return SECRET_KEY_NEEDED if secret_key_source == "process" else None


def secret_key_ready() -> str:
    """Make sure every worker finds the same key (the home's key file is made now if needed); say where it is from."""
    from django.conf import settings

    from leadbill.config.settings import secret_key_file

    if settings.LEADBILL_SECRET_KEY_SOURCE == "home":
        secret_key_file(settings.LEADBILL_SECRET_KEY_FILE)
        return f"secret key from {settings.LEADBILL_SECRET_KEY_FILE}"
    return "secret key from SECRET_KEY"


def run_server(args: argparse.Namespace) -> int:
    """Replace this process with gunicorn serving the WSGI app (static files by WhiteNoise)."""
    from django.conf import settings
    from django.core.management import call_command

    refusal = serve_refusal(settings.LEADBILL_SECRET_KEY_SOURCE)
    if refusal:
        raise CommandError(refusal)
    call_command("migrate", verbosity=0)
    key_note = secret_key_ready()  # after migrate: the home's key file belongs beside its database
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    argv = [gunicorn, "leadbill.config.wsgi:application", "--bind", args.bind, "--workers", str(args.workers),
            "--worker-tmp-dir", "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"]  # fmt: skip
    if settings.LEADBILL_LOG_FORMAT != "json":  # JSON logs: the request-id middleware writes the access lines
        argv += ["--access-logfile", "-"]
    print(f"Leadbill on http://{args.bind}/ : console and portal (sign in at /accounts/login/), API at /api/v1/ "
          f"(docs at /api/v1/docs); {args.workers} workers; {key_note}", file=sys.stderr)  # fmt: skip
    sys.stdout.flush()
    os.execv(gunicorn, argv)
    return 0  # pragma: no cover - execv does not return
