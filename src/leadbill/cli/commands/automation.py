"""`leadbill schedule|scheduler|worker|webhooks`: automatic runs, the processes that make them, and webhooks."""

from __future__ import annotations

import argparse
import contextlib
import logging
from zoneinfo import ZoneInfo

from leadbill.cli.arguments import whole
from leadbill.cli.lookups import entity_of, partner_of
from leadbill.cli.main import CommandError
from leadbill.cli.output import console, print_json, print_table

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    schedule = sub.add_parser("schedule", help="when invoices are made automatically (per entity, per partner)")
    actions = schedule.add_subparsers(dest="schedule_action", metavar="ACTION", required=True)
    p = actions.add_parser("set", help="set the entity's schedule, or a partner's own with --partner")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--partner", help="give this partner its own schedule (partner code)")
    p.add_argument("frequency", choices=("manual", "weekly", "monthly"),
                   help="manual: no automatic runs; weekly: a billing window (needs --window and --generate); "
                        "monthly: the calendar month, made on the 1st")  # fmt: skip
    p.add_argument("--window", help="weekly billing window, e.g. 'mon 00:00-mon 00:00' or 'fri 18:00-fri 18:00' "
                   "(weekday and HH:MM in the entity's time zone; required for weekly)")  # fmt: skip
    p.add_argument("--generate", help="weekly: 'mon 06:00' (required); monthly: '06:00' on the 1st (default 06:00); "
                   "in the entity's time zone")  # fmt: skip
    p.add_argument("--draft", action="store_true", help="leave drafts for review instead of issuing")
    p.add_argument("--no-email", action="store_true", help="issue without emailing the documents")
    p.set_defaults(handler=schedule_set)
    p = actions.add_parser("clear", help="a partner follows the entity's schedule again")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--partner", required=True, help="partner code of the partner whose own schedule is removed")
    p.set_defaults(handler=schedule_clear)
    p = actions.add_parser("show", help="the schedules of an entity, their next and last runs")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=schedule_show)

    p = sub.add_parser(
        "scheduler",
        help="start due runs (and retries) every --interval seconds; --once for cron "
        "(with the engine, workers tick by themselves and no scheduler is needed)",
    )
    p.add_argument("--once", action="store_true", help="one tick, then exit (for cron or a systemd timer)")
    p.add_argument("--interval", type=float, default=30.0, metavar="SECONDS",
                   help="seconds between ticks (default: 30)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="with --once: print the tick's result as JSON")
    p.set_defaults(handler=scheduler)

    p = sub.add_parser("worker", help="run background jobs on the engine (LEADBILL_TASK_BACKEND=engine, PostgreSQL)")
    p.add_argument("--queue", action="append", choices=("runs", "documents", "email", "webhooks", "default"),
                   help="queue to take jobs from (repeatable; default: all)")  # fmt: skip
    p.add_argument("--concurrency", type=whole, metavar="N",
                   help="jobs at a time in this process (default: $LEADBILL_WORKER_CONCURRENCY, else 4)")  # fmt: skip
    p.set_defaults(handler=worker)

    hooks = sub.add_parser("webhooks", help="webhook endpoints and their delivery log")
    actions = hooks.add_subparsers(dest="webhooks_action", metavar="ACTION", required=True)
    p = actions.add_parser("add", help="add an endpoint; prints its signing secret")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("url", help="the address that receives the signed events, e.g. https://erp.example/hooks "
                   "(http:// only with LEADBILL_WEBHOOKS_ALLOW_HTTP)")  # fmt: skip
    p.add_argument("--event", action="append", default=[],
                   help="event type (repeatable; default: all): invoice.issued, invoice.paid, invoice.voided, "
                        "credit_note.issued, payout.ready, self_invoice.issued, partner.low_balance")  # fmt: skip
    p.add_argument("--description", default="", help="a note to recognise the endpoint by (default: none)")
    p.set_defaults(handler=webhooks_add)
    p = actions.add_parser("list", help="endpoints with their last deliveries")
    p.add_argument("--entity", help="entity slug (optional when only one entity exists)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=webhooks_list)


def _day_time(text: str, field: str) -> tuple[int, int]:
    from leadbill.domain.schedules import read_clock

    day, _, clock = text.strip().partition(" ")
    if day.lower()[:3] not in DAYS:
        raise CommandError(f"{field}: {text!r} should be a weekday and a time, e.g. 'mon 06:00'")
    return DAYS.index(day.lower()[:3]), read_clock(clock, field)


def schedule_set(args: argparse.Namespace) -> int:
    from leadbill.domain.schedules import DEFAULT_MONTHLY_MINUTE, read_clock
    from leadbill.scheduling.services import describe, next_due
    from leadbill.scheduling.services import schedule_set as set_schedule

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner) if args.partner else None
    kwargs: dict[str, object] = {}
    if args.frequency == "weekly":
        if not args.window or "-" not in args.window or not args.generate:
            raise CommandError("weekly needs --window 'mon 00:00-mon 00:00' and --generate 'mon 06:00'")
        start, end = args.window.split("-", 1)
        kwargs = {"window_start": _day_time(start, "window"), "window_end": _day_time(end, "window"),
                  "generate_at": _day_time(args.generate, "generate")}  # fmt: skip
    elif args.frequency == "monthly":
        minute = read_clock(args.generate, "generate") if args.generate else DEFAULT_MONTHLY_MINUTE
        kwargs = {"generate_at": (0, minute)}
    schedule = set_schedule(
        actor=args.actor,
        entity=entity,
        partner=partner,
        frequency=args.frequency,
        draft=args.draft,
        send_email=not args.no_email,
        **kwargs,
    )  # type: ignore[arg-type]
    due = next_due(schedule)
    whose = partner.code if partner else entity.slug
    console.print(f"{whose}: {describe(schedule)['description']}")
    if due:
        local = due.at.astimezone(ZoneInfo(entity.timezone))
        console.print(f"next run: period {due.period.key}, on {local:%Y-%m-%d %H:%M %Z} ({entity.timezone})")
        _scheduler_line(ZoneInfo(entity.timezone))
    return 0


def schedule_clear(args: argparse.Namespace) -> int:
    from leadbill.scheduling.services import schedule_clear as clear

    entity = entity_of(args.entity)
    partner = partner_of(entity, args.partner)
    clear(actor=args.actor, partner=partner)
    console.print(f"{partner.code} follows the entity's schedule again.")
    return 0


def schedule_show(args: argparse.Namespace) -> int:
    from leadbill.scheduling.models import Schedule
    from leadbill.scheduling.services import describe, next_due

    entity = entity_of(args.entity)
    zone = ZoneInfo(entity.timezone)
    rows = []
    for s in Schedule.objects.filter(entity=entity).select_related("entity", "partner").order_by("partner__code"):
        due = next_due(s)
        last = s.runs.order_by("-due_at").first()
        rows.append({"partner": s.partner.code if s.partner else None, **describe(s),
                     "next": {"period": due.period.key, "at": due.at} if due else None,
                     "last": {"period": last.period_key, "run": last.run_id} if last else None})  # fmt: skip
    if args.json:
        print_json(rows)
    else:
        print_table(f"Schedules of {entity.slug} (times in {entity.timezone})", ["Whose", "Schedule", "Next run", "Last run"],
                    [(r["partner"] or "(entity)", r["description"],
                      f"{r['next']['period']} on {r['next']['at'].astimezone(zone):%Y-%m-%d %H:%M %Z}" if r["next"] else "",
                      f"{r['last']['period']} (run {r['last']['run']})" if r["last"] else "") for r in rows],
                    keep=(2,), drop=(3,))  # fmt: skip
        _scheduler_line(zone)
    return 0


def _scheduler_line(zone: ZoneInfo) -> None:
    """Whether anything makes the runs "Next run" promises: the heartbeat the console shows too."""
    from leadbill.scheduling.selectors import SCHEDULER_SILENT_AFTER, scheduler_status

    status = scheduler_status()
    if status.alive and status.last_tick_at is not None:
        console.print(f"scheduler: last tick {status.last_tick_at.astimezone(zone):%Y-%m-%d %H:%M %Z} on {status.host}")
        return
    since = (
        f"last tick {status.last_tick_at.astimezone(zone):%Y-%m-%d %H:%M %Z}" if status.last_tick_at else "never ticked"
    )
    minutes = int(SCHEDULER_SILENT_AFTER.total_seconds() // 60)
    console.print(f"no scheduler is running ({since}; silent over {minutes} minutes): scheduled runs wait until "
                  "`leadbill scheduler` runs, or `leadbill scheduler --once` from cron")  # fmt: skip


def scheduler(args: argparse.Namespace) -> int:
    from leadbill.scheduling.services import scheduler_loop, scheduler_tick

    logging.getLogger("leadbill").setLevel(logging.INFO)
    if args.once:
        from leadbill.engine.periodic import jobs_recover

        tick = scheduler_tick()
        tick.swept["recovered_jobs"] = jobs_recover()
        started = [{"period": s.period_key, "run": s.run_id, "schedule": s.schedule_id} for s in tick.started]
        if args.json:
            print_json({"started": started, "lost_races": tick.lost_races, "failed": tick.failed, "swept": tick.swept})
        else:
            for s in started:
                console.print(f"started run {s['run']} for {s['period']} (schedule {s['schedule']})")
            for schedule_id, why in tick.failed.items():
                console.print(f"schedule {schedule_id} started nothing: {why}", markup=False)
            console.print(f"{len(started)} run(s) started; swept {tick.swept}")
        return 0
    console.print(f"scheduler: ticking every {args.interval:g} s (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        scheduler_loop(interval=args.interval)
    return 0


def worker(args: argparse.Namespace) -> int:
    from leadbill.engine.worker import NoEngine, run_worker
    from leadbill.web.metrics import serve_worker_metrics

    logging.getLogger("leadbill").setLevel(logging.INFO)
    queues = args.queue or None
    if port := serve_worker_metrics():  # LEADBILL_WORKER_METRICS_PORT: this worker's job durations and failures
        console.print(f"worker: Prometheus metrics on port {port}")
    console.print(f"worker: queues {', '.join(queues or ['all'])} (SIGTERM finishes the jobs in hand, then stops)")
    try:
        run = run_worker(queues=queues, concurrency=args.concurrency)
    except NoEngine as exc:
        raise CommandError(str(exc)) from None
    console.print(f"worker stopped: {run.counts['done']} done, {run.counts['failed']} failed")
    return 0


def webhooks_add(args: argparse.Namespace) -> int:
    from leadbill.webhooks.services import endpoint_add

    entity = entity_of(args.entity)
    endpoint = endpoint_add(actor=args.actor, entity=entity, url=args.url, events=args.event,
                            description=args.description)  # fmt: skip
    console.print(f"endpoint {endpoint.pk}: {endpoint.url} ({', '.join(endpoint.events) or 'all events'})")
    console.print(f"signing secret: {endpoint.secret}")
    return 0


def webhooks_list(args: argparse.Namespace) -> int:
    from leadbill.webhooks.models import Endpoint

    entity = entity_of(args.entity)
    rows = [{"id": e.pk, "url": e.url, "events": e.events, "active": e.is_active,
             "delivered": e.deliveries.filter(state="delivered").count(),
             "queued": e.deliveries.filter(state__in=["queued", "sending"]).count(),
             "failed": e.deliveries.filter(state="failed").count()}
            for e in Endpoint.objects.filter(entity=entity).order_by("pk")]  # fmt: skip
    if args.json:
        print_json(rows)
    else:
        print_table(f"Webhook endpoints of {entity.slug}", ["Id", "URL", "Events", "Active", "Delivered", "Queued", "Failed"],
                    [(r["id"], r["url"], ", ".join(r["events"]) or "all", "yes" if r["active"] else "no",
                      r["delivered"], r["queued"], r["failed"]) for r in rows],
                    right=(0, 4, 5, 6), drop=(3, 2))  # fmt: skip
    return 0
