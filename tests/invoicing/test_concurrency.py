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
