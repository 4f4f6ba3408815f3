"""Reminders with a frozen clock against a real SMTP server: each step once, none after payment."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime, timedelta

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Return
from leadbill.domain.errors import DomainError
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import payment_record
from leadbill.mailing.models import EmailSend
from leadbill.mailing.services import email_deliver
from leadbill.receivables.dunning import policy_set, reminders_due, reminders_pause, reminders_resume
from leadbill.scheduling.services import scheduler_tick
from leadbill.webhooks.models import Event
from tests.mailing.test_smtp import Recorder, smtp  # noqa: F401
from tests.receivables.test_ledger import january

pytestmark = pytest.mark.django_db
ACTOR = "test:finance"


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def deliver_all() -> None:
    for send in EmailSend.objects.filter(state="queued").order_by("pk"):
        email_deliver(send.pk)


def test_each_step_is_sent_once_and_none_after_payment(entity, buyer, jan, smtp, frozen):  # noqa: F811
    server = smtp(Recorder())
    buyer.billing_emails = ["ap@blue-river.example"]
    buyer.save()
    inv, _ = january(entity, buyer, jan)
    policy_set(actor=ACTOR, entity=entity, enabled=True)  # -3, 7, 14 and 30 days
    due = inv.due_date
    for day in [due - timedelta(days=5), due - timedelta(days=3), due - timedelta(days=2), due + timedelta(days=7),
                due + timedelta(days=7), due + timedelta(days=8)]:  # fmt: skip
        frozen(at(day))
        scheduler_tick(now=at(day))
        deliver_all()
    subjects = [email.message_from_bytes(raw, policy=email.policy.default)["Subject"]
                for _, _, raw in server.accepted]  # fmt: skip
    assert subjects == [f"{inv.number} is due on {due.isoformat()}", f"Reminder: {inv.number} is 7 days overdue"]
    second = email.message_from_bytes(server.accepted[1][2], policy=email.policy.default)
    names = [part.get_filename() for part in second.iter_attachments()]
    assert any(n.startswith("statement-blue-river-USD") for n in names) and any(n.endswith(".pdf") for n in names)
    assert "RF" in second.get_body(("plain",)).get_content()
    overdue = AuditEvent.objects.filter(action="partner.overdue")
    assert overdue.count() == 1 and overdue.get().data["days_overdue"] == 7
    payment_record(actor=ACTOR, invoice=Invoice.objects.get(pk=inv.pk), amount_minor=1000, paid_on=due)
    for day in [due + timedelta(days=14), due + timedelta(days=30)]:
        frozen(at(day))
        scheduler_tick(now=at(day))
        deliver_all()
    assert len(server.accepted) == 2


def test_after_an_outage_only_the_latest_step_goes_out(entity, buyer, jan):
    buyer.billing_emails = ["ap@blue-river.example"]
    buyer.save()
    inv, _ = january(entity, buyer, jan)
    policy_set(actor=ACTOR, entity=entity, enabled=True)
    sends = reminders_due(at(inv.due_date + timedelta(days=20)))
    assert [s.purpose for s in sends] == ["reminder:2"]  # the 14-day step; -3 and 7 are not sent late
    assert reminders_due(at(inv.due_date + timedelta(days=21))) == []
    assert [s.purpose for s in reminders_due(at(inv.due_date + timedelta(days=30)))] == ["reminder:3"]


def test_paused_or_disputed_invoices_are_not_reminded(entity, buyer, jan):
    buyer.billing_emails = ["ap@blue-river.example"]
    buyer.save()
    inv, leads = january(entity, buyer, jan)
    policy_set(actor=ACTOR, entity=entity, enabled=True)
    reminders_pause(actor=ACTOR, partner=buyer, reason="payment plan agreed")
    assert reminders_due(at(inv.due_date + timedelta(days=7))) == []
    reminders_resume(actor=ACTOR, partner=buyer)
    Return.objects.create(entity=entity, delivery=leads[0], reason="wrong number", status="requested",
                          requested_at=datetime(2026, 2, 2, tzinfo=UTC))  # fmt: skip
    assert reminders_due(at(inv.due_date + timedelta(days=7))) == []  # disputed
    Return.objects.update(status="rejected")
    assert [s.purpose for s in reminders_due(at(inv.due_date + timedelta(days=7)))] == ["reminder:1"]


def test_a_policy_names_the_step_and_field_it_refuses(entity):
    with pytest.raises(DomainError) as caught:
        policy_set(actor=ACTOR, entity=entity, steps=[{"days": 7, "subject": "Hi $nope", "body": "x"}])
    assert caught.value.field == "steps[0].subject" and "unknown placeholder $nope" in caught.value.message
    with pytest.raises(DomainError) as caught:
        policy_set(actor=ACTOR, entity=entity, steps=[{"days": "²", "subject": "a", "body": "b"}])
    assert caught.value.field == "steps[0].days"
    policy = policy_set(actor=ACTOR, entity=entity, steps=[{"days": "-2", "subject": "Due: $number", "body": "$open"}])
    assert policy.steps == [{"days": -2, "subject": "Due: $number", "body": "$open"}] and not policy.enabled


def test_overdue_raises_a_partner_overdue_webhook_event(entity, buyer, jan):
    from leadbill.webhooks.services import endpoint_add

    buyer.billing_emails = ["ap@blue-river.example"]
    buyer.save()
    inv, _ = january(entity, buyer, jan)
    policy_set(actor=ACTOR, entity=entity, enabled=True)
    endpoint_add(actor=ACTOR, entity=entity, url="https://93.184.216.34/hooks", events=["partner.overdue"])
    reminders_due(at(inv.due_date + timedelta(days=14)))
    event = Event.objects.get(type="partner.overdue")
    assert event.payload["days_overdue"] == 14 and event.payload["open"] == "10.00"
    assert event.payload["partner"]["code"] == buyer.code and event.payload["invoice"] == inv.number


REMINDER_TICKER = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "leadbill.config.settings"
import django
django.setup()
from datetime import datetime, UTC
from django.db import connection
from leadbill.receivables.dunning import reminders_due
with connection.cursor() as c:  # both processes wait here, then queue at the same moment
    c.execute("SELECT pg_advisory_lock_shared(4343)")
    c.execute("SELECT pg_advisory_unlock_shared(4343)")
print(len(reminders_due(datetime.fromisoformat(sys.argv[1]))))
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_racing_queue_each_reminder_once(entity, buyer, jan):
    import os
    import subprocess
    import sys
    import time

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the race needs two processes on a shared server database (PostgreSQL)")
    from tests.factories import make_deliveries, make_partner, make_plan
    from tests.invoicing.conftest import JAN_2
    from tests.invoicing.helpers import issue

    for i in range(15):
        partner = make_partner(entity, code=f"late-{i:02d}", currency="USD", billing_emails=[f"ap{i}@late.example"])
        make_plan(partner, "flat", {"price": "1.00"})
        make_deliveries(partner, 2, JAN_2)
    issue(entity, jan)
    policy_set(actor=ACTOR, entity=entity, enabled=True)
    due = Invoice.objects.filter(entity=entity).values_list("due_date", flat=True).first()
    s = connection.settings_dict
    url = f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    when = at(due + timedelta(days=8)).isoformat()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(4343)")
        procs = [subprocess.Popen([sys.executable, "-c", REMINDER_TICKER, when], env={**os.environ, "DATABASE_URL": url},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
        time.sleep(1.5)
        cursor.execute("SELECT pg_advisory_unlock(4343)")
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sum(int(out) for out, _ in outputs) == 15
    assert EmailSend.objects.filter(purpose="reminder:1").count() == 15
    assert AuditEvent.objects.filter(action="partner.overdue").count() == 15
