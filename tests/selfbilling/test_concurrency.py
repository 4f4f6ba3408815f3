"""Two schedulers sweeping at once on PostgreSQL, and a supplier deciding while they do: each document once."""

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from leadbill.audit.models import AuditEvent
from leadbill.domain import periods
from leadbill.payouts import services as s
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from tests.factories import make_entity, make_lead_type
from tests.invoicing.test_concurrency import _database_url
from tests.payouts.conftest import ACTOR, COMPLETE, MAIN, make_supplier

RUNNER = textwrap.dedent(
    """
    import os, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadbill.config.settings"
    import django
    django.setup()
    from leadbill.selfbilling.acceptance import self_invoices_deem
    print(len(self_invoices_deem()))
    """
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_sweeps_deem_each_self_invoice_once(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs two processes on a shared server database (PostgreSQL)")
    entity = make_entity(timezone="Europe/Berlin", currency="EUR")
    make_lead_type(entity)
    sbs.self_billing_switch(actor=ACTOR, entity=entity, on=True)
    supplier = make_supplier(entity)
    supplier.refresh_from_db()
    sbs.seller_details_set(actor=ACTOR, partner=supplier, details=COMPLETE, tax_rate="19")
    sbs.self_billing_opt_in(actor=ACTOR, partner=supplier, signer=MAIN, accepted=True)
    for month in range(1, 13):
        payout = s.payout_create(actor=ACTOR, partner=supplier, period=periods.month(2025, month, "Europe/Berlin"),
                                 lines=[s.ManualLine(f"Commission {month}", 1, Decimal("100.00"))])  # fmt: skip
        s.payout_transition(actor=ACTOR, payout=payout, to="pending")
        s.payout_transition(actor=ACTOR, payout=payout, to="ready")
    SelfBilledDocument.objects.update(acceptance_due_at=timezone.now() - timedelta(minutes=1))
    env = {**os.environ, "DATABASE_URL": _database_url(), "LEADBILL_HOME": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sum(int(out) for out, _ in outputs) == 12
    assert SelfBilledDocument.objects.filter(acceptance="deemed").count() == 12
    assert AuditEvent.objects.filter(action="self_invoice.accepted").count() == 12
