"""The demo, end to end: set-up file, two months of deliveries, returns, two invoice runs."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.db import transaction
from rich.console import Console

from leadbill.deliveries.models import Delivery
from leadbill.deliveries.services import deliveries_import, return_accept, return_request
from leadbill.demo.data import csv_text, delivery_rows, months_before, setup_yaml
from leadbill.domain import periods
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import invoice_run_issue, invoice_run_preview, payment_record, topup_record
from leadbill.loader.services import setup_load, setup_read
from leadbill.partners.models import Partner

ACTOR = "demo"
LOGOS = Path(__file__).parent / "logos"


def reset_database() -> None:
    call_command("flush", interactive=False, verbosity=0)


def run_demo(console: Console, *, deliveries: int = 50_000, today: datetime | None = None) -> dict[str, object]:
    """Build the demo data and bill last month; returns what the summary printed."""
    call_command("migrate", verbosity=0, interactive=False)
    if Entity.objects.filter(slug__in=["acme-us", "acme-eu"]).exists():
        raise RuntimeError("the database already holds the demo; run `leadbill demo --reset` to start over")
    now = today or datetime.now(tz=ZoneInfo("UTC"))
    history_first, last_first = months_before(now.date())
    ny = "America/New_York"
    history = periods.month(history_first.year, history_first.month, ny)
    last = periods.month(last_first.year, last_first.month, ny)

    text, buyers = setup_yaml(history, last)
    result = setup_load(actor=ACTOR, document=setup_read(text, base_dir=LOGOS))
    console.print(f"[bold]1.[/bold] Loaded the set-up file: {result.total('created')} objects "
                  "(2 entities, lead types, partners, profiles, price plans)")  # fmt: skip

    entities = {e.slug: e for e in Entity.objects.all()}
    imported = 0
    for slug_, share in (("acme-us", 0.7), ("acme-eu", 0.3)):
        entity = entities[slug_]
        tz = ZoneInfo(entity.timezone)
        start = datetime.combine(history_first, time(0), tz)
        end = datetime.combine(last_first + timedelta(days=32), time(0), tz).replace(day=1)
        own = [b for b in buyers if b.entity == slug_]
        rows = delivery_rows(own, start, end, int(deliveries * share), seed=11 if slug_ == "acme-us" else 12)
        res = deliveries_import(actor=ACTOR, entity=entity, stream=csv_text(rows), file_name=f"{slug_}.csv")
        imported += res.created
    console.print(f"[bold]2.[/bold] Imported {imported:,} deliveries over {history.label()} and {last.label()} "
                  "through the CSV import")  # fmt: skip

    rng = random.Random(5)
    returns_before = _returns(rng, history, 220, before=True)
    console.print(f"[bold]3.[/bold] {returns_before} returns accepted before billing (those leads are not billed)")

    _prepay_topups(history, last)
    issued_history = 0
    for entity in entities.values():
        hist = periods.month(history_first.year, history_first.month, entity.timezone)
        run = invoice_run_issue(actor=ACTOR, entity=entity, period=hist, issue_date=last_first)
        issued_history += len(run.issued)
    for inv in Invoice.objects.filter(kind="invoice", status="issued").order_by("pk")[::2]:
        payment_record(actor=ACTOR, invoice=inv, amount_minor=inv.total_minor, paid_on=last_first + timedelta(days=9),
                       reference=f"wire {inv.number}")  # fmt: skip
    console.print(f"[bold]4.[/bold] Issued {history.label()} ({issued_history} documents, half of them paid since)")

    credited = _returns(rng, history, 60, before=False)
    late = _late_deliveries(entities["acme-us"], buyers, history)
    console.print(f"[bold]5.[/bold] After that: {credited} more returns of billed leads (credited on the next "
                  f"invoice) and {late} late deliveries for {history.label()} (billed as prior-period lines)")  # fmt: skip

    summary: dict[str, object] = {}
    for entity in entities.values():
        period = periods.month(last_first.year, last_first.month, entity.timezone)
        preview = invoice_run_preview(entity=entity, period=period)
        from leadbill.cli.commands.runs import print_issued, print_preview

        console.print()
        print_preview(preview)
        run = invoice_run_issue(actor=ACTOR, entity=entity, period=period, issue_date=now.date())
        print_issued(run)
        summary[entity.slug] = {"issued": len(run.issued), "failures": run.failures, "run": run.run.pk}
    _print_summary(console, entities.values(), now.date())
    folder, written = write_documents(now.date())
    console.print(f"\n[bold]6.[/bold] Wrote the month's {written} documents as Factur-X PDF/A-3 (EN 16931 XML "
                  f"inside) to {folder}")  # fmt: skip
    summary["documents"] = {"folder": str(folder), "written": written}
    summary["self_billing"] = _self_billing(console, entities["acme-us"], now.date(), folder)
    summary["api"] = _api_key(console, next(iter(entities.values())))
    summary["web"] = _web_logins(console, list(entities.values()))
    return summary


DEMO_PASSWORD = "orchard-lantern-42"


def _web_logins(console: Console, entities: list[Entity]) -> dict[str, object]:
    """Sign-ins for the console (one per role) and the portal (one partner), printed with the URL."""
    from leadbill.partners.models import Partner
    from leadbill.web.services import partner_user_invite, staff_add

    logins = []
    for role in ("admin", "finance", "readonly"):
        email = f"{role}@demo.leadbill.test"
        for entity in entities:
            staff_add(actor=ACTOR, entity=entity, email=email, name=role.title(), role=role, password=DEMO_PASSWORD)
        logins.append((email, f"{role} in {', '.join(e.slug for e in entities)}"))
    partner = Partner.objects.filter(entity=entities[0], is_buyer=True, invoices__isnull=False).order_by("code").first()
    if partner is not None:
        email = f"{partner.code}@demo.leadbill.test"
        partner_user_invite(actor=ACTOR, partner=partner, email=email, name=partner.contact_name or partner.name,
                            main_contact=True, password=DEMO_PASSWORD)  # fmt: skip
        logins.append((email, f"portal user of {partner.name}"))
    lines = "\n".join(f"   {email:<36} {what}" for email, what in logins)
    console.print(f"\n[bold]8.[/bold] The web console and partner portal: start [bold]leadbill serve[/bold] and open "
                  f"http://127.0.0.1:8000/ . Every demo login's password is [bold]{DEMO_PASSWORD}[/bold]:\n{lines}")  # fmt: skip
    return {"url": "http://127.0.0.1:8000/", "password": DEMO_PASSWORD, "logins": [e for e, _ in logins]}


def _api_key(console: Console, entity: Entity) -> dict[str, str]:
    """A full API key for the first entity, and how to call the API with it."""
    from leadbill.api.keys import api_key_create

    new = api_key_create(actor=ACTOR, entity=entity, name="demo", scope="full")
    first = Invoice.objects.filter(entity=entity, kind="invoice").exclude(number=None).order_by("sequence").first()
    console.print(f"\n[bold]7.[/bold] The REST API: an API key for {entity.slug} (full scope) is "
                  f"[bold]{new.token}[/bold]\n   Start the server with [bold]leadbill serve[/bold] (docs at "
                  "http://127.0.0.1:8000/api/v1/docs), then for example:\n"
                  f"   curl -H 'Authorization: Bearer {new.token}' http://127.0.0.1:8000/api/v1/invoices/"
                  f"{first.number if first else ''}")  # fmt: skip
    return {"token": new.token, "entity": entity.slug}


def _self_billing(console: Console, entity: Entity, today: object, folder: Path) -> dict[str, object]:
    """Self-billing switched on for acme-us; two suppliers opt in, one does not; last month's payouts made ready."""
    from leadbill.documents.services import document_file
    from leadbill.invoicing.selectors import money
    from leadbill.payouts import services as s
    from leadbill.selfbilling import services as sbs
    from leadbill.selfbilling.models import SelfBilledDocument
    from leadbill.web.services import partner_user_invite

    sbs.self_billing_switch(actor=ACTOR, entity=entity, on=True)
    sbs.self_billing_terms_set(actor=ACTOR, entity=entity, acceptance_days=5, require_acceptance=False)
    entity.refresh_from_db()
    address = {
        "address_line1": "9 Affiliate Way",
        "postal_code": "94105",
        "city": "San Francisco",
        "region": "CA",
        "country": "US",
    }
    opted = {
        "leadforge-media": ({**address, "legal_name": "LeadForge Media LLC", "tax_id": "94-3177001",
                             "email": "payouts@leadforge-media.example", "peppol_id": "0060:081466849",
                             "routing_number": "121000248", "account_number": "4420019876"},
                            "LeadForge Media LLC · 9 Affiliate Way, San Francisco · payouts@leadforge-media.example",
                            (LOGOS / "leadforge.svg").read_bytes()),
        "clickharbor": ({**address, "legal_name": "ClickHarbor Inc.", "tax_id": "27-1450123",
                         "peppol_id": "0060:080012345", "routing_number": "026009593", "account_number": "000123456789"}, "ClickHarbor Inc. · Thank you for your leads", None),
    }  # fmt: skip
    for code, (details, footer, logo) in opted.items():
        partner = Partner.objects.get(entity=entity, code=code)
        sbs.seller_details_set(actor=ACTOR, partner=partner, details=details, footer=footer,
                             logo=(logo, "image/svg+xml") if logo else None)  # fmt: skip
        signer = sbs.Signer(email=f"{code}@demo.leadbill.test", is_main_contact=True, address="127.0.0.1")
        sbs.self_billing_opt_in(actor=ACTOR, partner=partner, signer=signer, accepted=True, via="onboarding")
    partner_user_invite(actor=ACTOR, partner=Partner.objects.get(entity=entity, code="leadforge-media"),
                        email="leadforge-media@demo.leadbill.test", name="Jordan Lee", main_contact=True,
                        password=DEMO_PASSWORD)  # fmt: skip
    period = periods.month(today.year, today.month, entity.timezone).previous()  # type: ignore[attr-defined]
    result = s.payout_compute(actor=ACTOR, entity=entity, period=period)
    lines = []
    for payout in result.created:
        s.payout_transition(actor=ACTOR, payout=payout, to="pending")
        s.payout_transition(actor=ACTOR, payout=payout, to="ready")
        payout.refresh_from_db()
        docs = ", ".join(d.number for d in payout.documents.all()) or f"no self-invoice: {payout.self_billing}"
        lines.append(f"   {payout.partner.code:<22} {money(payout.total_minor, payout.currency):>10} "
                     f"{payout.currency} ({payout.leads_paid} leads) · {docs}")  # fmt: skip
    # LeadForge accepts its self-invoice in the portal; ClickHarbor's waits (deemed accepted after 5 days)
    for doc in SelfBilledDocument.objects.filter(entity=entity, partner__code="leadforge-media", role="invoice"):
        by = sbs.Decider(by="leadforge-media@demo.leadbill.test", via="portal", address="127.0.0.1")
        sbs.self_invoice_accept(actor=ACTOR, doc=doc, decider=by)
    paying = _payment_file(entity, [p.pk for p in result.created if p.currency == "USD"])
    written = 0
    for doc in SelfBilledDocument.objects.filter(entity=entity).order_by("sequence"):
        file = document_file(doc, "facturx", actor=ACTOR)
        (folder / entity.slug / file.name).write_bytes(file.content)
        written += 1
    console.print(f"\n[bold]6b.[/bold] Self-billing on for {entity.slug}: {period.label()} payouts made ready; "
                  f"{written} self-invoices (type 389) written beside the invoices:\n" + "\n".join(lines)
                  + "\n   LeadForge accepted its self-invoice; ClickHarbor's awaits acceptance (5 days)."
                  + "\n   Portal login of a supplier: leadforge-media@demo.leadbill.test"
                  + f"\n   {paying}")  # fmt: skip
    return {"payouts": len(result.created), "self_invoices": written}


def _payment_file(entity: Entity, payout_ids: list[int]) -> str:
    """The entity's ACH originator details, and a NACHA file of the ready USD payouts whose suppliers gave a bank account."""
    from leadbill.payment_files.services import ach_originator_set, payment_file_create

    ach_originator_set(actor=ACTOR, entity=entity, values={
        "immediate_destination": "021000021", "immediate_destination_name": "JPMorgan Chase",
        "immediate_origin": "1123456789", "immediate_origin_name": "Acme Leads", "company_name": "Acme Leads",
        "company_id": "1123456789", "odfi_routing": "021000021"})  # fmt: skip
    file = payment_file_create(actor=ACTOR, entity=entity, kind="nacha", payout_ids=payout_ids, skip_invalid=True)
    skipped = f", {len(file.skipped)} skipped (no bank account)" if file.skipped else ""
    return (
        f"NACHA payment file {file.message_id}: {file.count} payouts{skipped}, not yet sent "
        f"(leadbill payment-file show {file.pk} --entity {entity.slug})"
    )


def write_documents(issue_date: object) -> tuple[Path, int]:
    """The documents issued on `issue_date`, as the partners receive them: Factur-X PDFs."""
    from django.conf import settings

    from leadbill.documents.services import document_file

    docs = Invoice.objects.filter(issue_date=issue_date).exclude(status="draft").select_related("entity")
    folder = Path(settings.OUTPUT_DIR) / "documents"
    written = 0
    for inv in docs.order_by("entity__slug", "series", "sequence"):
        target = folder / inv.entity.slug
        target.mkdir(parents=True, exist_ok=True)
        file = document_file(inv, "facturx", actor=ACTOR)
        (target / file.name).write_bytes(file.content)
        written += 1
    return folder, written


def _print_summary(console: Console, entities: object, issue_date: object) -> None:
    from leadbill.cli.output import amount, print_table

    rows = []
    for entity in entities:  # type: ignore[attr-defined]
        docs = Invoice.objects.filter(entity=entity, issue_date=issue_date)
        c = entity.currency
        rows.append((
            entity.slug, docs.filter(kind="invoice").count(), docs.filter(kind="receipt").count(),
            docs.filter(kind="credit_note").count(), sum(d.leads_billed for d in docs),
            sum(d.leads_returned for d in docs),
            amount(sum(d.subtotal_minor for d in docs), c), amount(sum(d.tax_minor for d in docs), c),
            amount(sum(d.total_minor for d in docs), c),
        ))  # fmt: skip
    console.print()
    print_table("Summary of last month's billing", ["Entity", "Invoices", "Receipts", "Credit notes", "Leads billed",
                "Returned", "Net", "Tax", "Total"], rows, right=(1, 2, 3, 4, 5, 6, 7, 8), keep=(0,),
                drop=(2, 3, 5, 6, 7), target=console)  # fmt: skip


def _returns(rng: random.Random, history: periods.Period, count: int, *, before: bool) -> int:
    """Request and accept returns of leads delivered in the history month."""
    partners = Partner.objects.filter(returns_allowed=True, is_buyer=True)
    candidates = list(
        Delivery.objects.filter(partner__in=partners, delivered_at__gte=history.start, delivered_at__lt=history.end)
        .exclude(returns__status__in=["requested", "accepted"])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    accepted = 0
    for pk in rng.sample(candidates, k=min(count, len(candidates))):
        delivery = Delivery.objects.select_related("entity").get(pk=pk)
        requested = delivery.delivered_at + timedelta(days=2)
        try:
            ret = return_request(
                actor=ACTOR,
                delivery=delivery,
                reason=rng.choice(["disconnected phone", "duplicate lead", "wrong state", "fake name"]),
                requested_at=requested,
            )
        except Exception:  # the partner's return policy refused it: that is part of the demo too
            continue
        if ret.status == "requested":
            if rng.random() < 0.15:
                continue  # left in the returns queue for finance to decide
            return_accept(actor=ACTOR, ret=ret, note="checked by finance")
        accepted += 1
    return accepted


def _prepay_topups(history: periods.Period, last: periods.Period) -> None:
    for partner in Partner.objects.filter(billing_mode="prepay"):
        with transaction.atomic():
            topup_record(actor=ACTOR, partner=partner, amount_minor=2_500_000,
                         occurred_at=history.start + timedelta(hours=9), reference="wire PP-1")  # fmt: skip
            topup_record(actor=ACTOR, partner=partner, amount_minor=1_500_000,
                         occurred_at=last.start + timedelta(days=3), reference="wire PP-2")  # fmt: skip


def _late_deliveries(entity: Entity, buyers: list, history: periods.Period) -> int:  # type: ignore[type-arg]
    own = [b for b in buyers if b.entity == entity.slug][:5]
    start = history.end - timedelta(hours=6)
    rows = delivery_rows(own, start, history.end, 25, seed=99, prefix="late")
    return deliveries_import(actor=ACTOR, entity=entity, stream=csv_text(rows), file_name="late.csv").created
