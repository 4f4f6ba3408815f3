"""Two invoice runs racing on PostgreSQL: one invoice per partner, no gap, no duplicate."""

import os
import subprocess
import sys
import textwrap

import pytest
from django.db import connection

from leadbill.invoicing.models import BilledLead, Invoice
from tests.factories import make_deliveries, make_entity, make_partner, make_plan
from tests.invoicing.conftest import JAN_2

RUNNER = textwrap.dedent(
    """
    import os, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadbill.config.settings"
    import django
    django.setup()
    from leadbill.domain import periods
    from leadbill.entities.models import Entity
    from leadbill.invoicing.services import invoice_run_issue
    entity = Entity.objects.get(slug=sys.argv[1])
    result = invoice_run_issue(actor="test:race", entity=entity, period=periods.month(2026, 1, "UTC"),
                               batch_size=int(sys.argv[2]))
    print(len(result.issued), len(result.skipped), len(result.failures))
    """
)


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch_size", [1, 500])
def test_two_racing_runs_issue_each_partner_once_with_gapless_numbers(batch_size):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs two processes on a shared server database (PostgreSQL)")
    entity = make_entity(timezone="UTC", currency="USD")
    for i in range(40):
        partner = make_partner(entity, code=f"race{i:02d}", currency="USD")
        make_plan(partner, "flat", {"price": "1.00"})
        make_deliveries(partner, 5, JAN_2)
    env = {**os.environ, "DATABASE_URL": _database_url()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, entity.slug, str(batch_size)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    issued = [tuple(map(int, out.split())) for out, _ in outputs]
    print("issued, skipped, failed per process:", issued)
    assert sum(i[0] for i in issued) == 40 and all(i[2] == 0 for i in issued), issued
    assert Invoice.objects.filter(entity=entity).count() == 40
    assert sorted(Invoice.objects.filter(entity=entity).values_list("sequence", flat=True)) == list(range(1, 41))
    assert BilledLead.objects.filter(invoice__entity=entity).count() == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_partner_whose_issue_loses_a_real_deadlock_is_issued_on_a_later_try(monkeypatch):
    """PostgreSQL aborts the issuing transaction (40P01); the run rolls back to its savepoint, sees the
    deadlock itself (not "current transaction is aborted") and issues the partner again."""
    if connection.vendor != "postgresql":
        pytest.skip("a deadlock PostgreSQL detects")
    from leadbill.domain import periods
    from leadbill.invoicing import services
    from tests.deadlocks import deadlock_here, prepare

    prepare()
    entity = make_entity(timezone="UTC", currency="USD")
    for code in ("a", "late", "z"):
        partner = make_partner(entity, code=code, currency="USD")
        make_plan(partner, "flat", {"price": "1.00"})
        make_deliveries(partner, 2, JAN_2)
    real, lost = services._persist, []

    def persist(actor, entity, period, drafts, *args, **kwargs):
        invoices = real(actor, entity, period, drafts, *args, **kwargs)  # written, then the deadlock aborts it
        if any(d.partner.code == "late" for d in drafts) and len(lost) < 2:  # the batch, then its first try alone
            lost.append("late")
            deadlock_here()
        return invoices

    monkeypatch.setattr(services, "_persist", persist)
    result = services.invoice_run_issue(actor="test", entity=entity, period=periods.month(2026, 1, "UTC"))
    assert lost == ["late", "late"]
    assert result.failures == {}
    assert sorted(inv.partner.code for inv in result.issued) == ["a", "late", "z"]
    assert sorted(Invoice.objects.filter(entity=entity).values_list("sequence", flat=True)) == [1, 2, 3]
    assert BilledLead.objects.filter(invoice__partner__code="late", voided=False).count() == 2


WRITE_OFF = textwrap.dedent(
    """
    import os, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadbill.config.settings"
    import django
    django.setup()
    from leadbill.invoicing.models import Invoice
    from leadbill.receivables.services import invoice_write_off
    invoice_write_off(actor="test:race", invoice=Invoice.objects.get(number=sys.argv[1]), reason="insolvent")
    """
)


def _january_with_a_return(entity_code: str):
    """January issued (5 leads at 2.00), one lead returned, three February leads to bill."""
    from datetime import date

    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue
    from tests.invoicing.conftest import FEB_2
    from tests.invoicing.test_lifecycle import accept_return

    entity = make_entity(slug=entity_code, timezone="UTC", currency="USD")
    partner = make_partner(entity, code="racer", currency="USD")
    make_plan(partner, "flat", {"price": "2.00"})
    leads = make_deliveries(partner, 5, JAN_2)
    invoice_run_issue(actor="test", entity=entity, period=periods.month(2026, 1, "UTC"), issue_date=date(2026, 2, 1))
    accept_return(leads[0], FEB_2)
    make_deliveries(partner, 3, FEB_2)
    return entity, Invoice.objects.get(entity=entity, period_key="2026-01")


def _wait_for_a_lock_wait(proc: subprocess.Popen) -> None:
    """Until the other process waits on a row lock this transaction holds (it must, to be safe)."""
    import time

    deadline = time.monotonic() + 20
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the view is frozen for the transaction
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
            assert proc.poll() is None, ("finished without waiting for the lock", proc.communicate())
            time.sleep(0.05)
        cursor.execute(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 200) FROM pg_stat_activity"
            " WHERE datname = current_database()"
        )
        activity = cursor.fetchall()
    proc.kill()
    raise AssertionError(("the other process never waited for the lock", activity, proc.communicate()))


def _waiting_on_this(script: str, *argv: str) -> subprocess.Popen:
    """Start `script` in another process on this database; return once it waits on a lock held here."""
    env = {**os.environ, "DATABASE_URL": _database_url()}
    proc = subprocess.Popen([sys.executable, "-c", script, *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    _wait_for_a_lock_wait(proc)
    return proc


def _finished(proc: subprocess.Popen) -> str:
    """The other process's output, once it has finished without error."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err[-2000:])
    return out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_waits_for_a_write_off_of_the_invoice_whose_return_it_would_net():
    """The write-off commits first: the run reads January as written off and does not net its return."""
    if connection.vendor != "postgresql":
        pytest.skip("the race needs two processes on a shared server database (PostgreSQL)")
    from django.db import transaction

    from leadbill.invoicing.models import CreditedLead
    from leadbill.receivables.services import invoice_write_off

    entity, january = _january_with_a_return("race-wo-first")
    runner = RUNNER.replace("periods.month(2026, 1,", "periods.month(2026, 2,")
    with transaction.atomic():
        invoice_write_off(actor="test", invoice=january, reason="insolvent")
        proc = _waiting_on_this(runner, entity.slug, "500")
    _finished(proc)
    february = Invoice.objects.get(entity=entity, period_key="2026-02")
    assert february.total_minor == 600  # the return of a written-off lead is not netted
    assert not CreditedLead.objects.filter(invoice=february).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_write_off_waits_for_a_run_netting_its_return_and_moves_that_credit():
    """The run commits first: the write-off then sees February's credit and moves it there."""
    if connection.vendor != "postgresql":
        pytest.skip("the race needs two processes on a shared server database (PostgreSQL)")
    from datetime import date

    from django.db import transaction

    from leadbill.domain import periods
    from leadbill.invoicing.services import invoice_run_issue
    from leadbill.receivables.models import Entry
    from leadbill.receivables.selectors import open_minor

    entity, january = _january_with_a_return("race-run-first")
    with transaction.atomic():
        invoice_run_issue(
            actor="test", entity=entity, period=periods.month(2026, 2, "UTC"), issue_date=date(2026, 3, 1)
        )
        proc = _waiting_on_this(WRITE_OFF, january.number)
    _finished(proc)
    february = Invoice.objects.get(entity=entity, period_key="2026-02")
    assert february.total_minor == 400  # netted while January was open
    assert open_minor(february) == 600  # and asked for again at the write-off
    assert -sum(Entry.objects.filter(invoice=january, kind="write_off").values_list("amount_minor", flat=True)) == 800


CREDIT_NOTE = textwrap.dedent(
    """
    import os, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadbill.config.settings"
    import django
    django.setup()
    from leadbill.partners.models import Partner
    from leadbill.invoicing.services import credit_note_issue
    note = credit_note_issue(actor="test:race", partner=Partner.objects.get(entity__slug=sys.argv[1], code="racer"))
    print(note.number, note.total_minor)
    """
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_void_moving_charges_back_and_a_credit_note_for_the_same_partner_do_not_deadlock(monkeypatch):
    """The void locks its invoice with the partner and entity rows in one statement, as before; a credit
    note locks the partner first, then the invoices whose returns it credits. (A void that first locked
    the invoices whose charges were moved onto it deadlocked with the credit note: a review proved it.)"""
    if connection.vendor != "postgresql":
        pytest.skip("the race needs two processes on a shared server database (PostgreSQL)")
    from datetime import date, timedelta

    from leadbill.deliveries.models import Delivery
    from leadbill.domain import periods
    from leadbill.invoicing import services
    from leadbill.invoicing.services import invoice_run_issue, invoice_void
    from leadbill.receivables.models import Entry
    from leadbill.receivables.services import invoice_write_off
    from tests.invoicing.conftest import FEB_2
    from tests.invoicing.test_lifecycle import accept_return

    entity, january = _january_with_a_return("race-void-note")
    invoice_run_issue(actor="test", entity=entity, period=periods.month(2026, 2, "UTC"), issue_date=date(2026, 3, 1))
    february = Invoice.objects.get(entity=entity, period_key="2026-02")
    invoice_write_off(actor="test", invoice=january, reason="insolvent")  # February's credit moves onto February
    assert Entry.objects.filter(kind="transfer", document=february).exclude(invoice=february).exists()
    billed = BilledLead.objects.filter(invoice=january).values_list("delivery_id", flat=True)
    second = Delivery.objects.filter(pk__in=billed).exclude(returns__status="accepted").order_by("pk")[0]
    accept_return(second, FEB_2 + timedelta(days=5))  # the credit note will lock January
    procs: list[subprocess.Popen] = []
    real_locked = services._locked

    def locked(invoice):  # the void's first lock taken: now the credit note starts and must wait
        got = real_locked(invoice)
        if not procs:
            procs.append(_waiting_on_this(CREDIT_NOTE, entity.slug))
        return got

    monkeypatch.setattr(services, "_locked", locked)
    invoice_void(actor="test", invoice=february, reason="wrong partner")
    assert (
        _finished(procs[0]).split()[1] == "-400"
    )  # both returned January leads, after the void released February's credit
