"""Two processes marking the same file sent at once on PostgreSQL: the payouts are paid once."""

import os
import subprocess
import sys
import textwrap

import pytest
from django.db import connection

from leadbill.audit.models import AuditEvent
from leadbill.payment_files import services as pf
from leadbill.payouts.models import Payout
from tests.factories import make_entity
from tests.invoicing.test_concurrency import _database_url
from tests.payment_files.conftest import ACTOR, IBANS, ready_payout, supplier

RUNNER = textwrap.dedent(
    """
    import os, sys, datetime
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadbill.config.settings"
    import django
    django.setup()
    from leadbill.payment_files.models import PaymentFile
    from leadbill.payment_files.services import payment_file_mark_sent
    done = payment_file_mark_sent(actor="test:race", file=PaymentFile.objects.get(pk=int(sys.argv[1])),
                                  sent_on=datetime.date(2026, 12, 9))
    print("already" if done.already else f"paid {len(done.paid)}")
    """
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_mark_as_sent_pays_each_payout_once(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs two processes on a shared server database (PostgreSQL)")
    entity = make_entity(iban="DE89370400440532013000", currency="EUR")
    payouts = [ready_payout(supplier(entity, f"race{i}", {"iban": IBANS[i]})) for i in range(6)]
    file = pf.payment_file_create(actor=ACTOR, entity=entity, kind="sepa", payout_ids=[p.pk for p in payouts])
    env = {**os.environ, "DATABASE_URL": _database_url(), "LEADBILL_HOME": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER, str(file.pk)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sorted(out.strip() for out, _ in outputs) == ["already", "paid 6"]
    assert Payout.objects.filter(pk__in=[p.pk for p in payouts], status="paid").count() == 6
    assert AuditEvent.objects.filter(action="payout.paid").count() == 6
    assert AuditEvent.objects.filter(action="payment_file.sent").count() == 1
