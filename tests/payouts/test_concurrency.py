"""Two processes making the same payouts ready on PostgreSQL: one self-invoice each, gapless partner numbers."""

import os
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest
from django.db import connection

from leadbill.domain import periods
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
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
    from leadbill.domain.errors import StateError
    from leadbill.payouts.models import Payout
    from leadbill.payouts.services import payout_transition
    ids = [int(x) for x in sys.argv[1].split(",")]
    made = lost = 0
    for pk in ids:
        try:
            payout_transition(actor="test:race", payout=Payout.objects.get(pk=pk), to="ready")
            made += 1
        except StateError:
            lost += 1
    print(made, lost)
    """
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_ready_transitions_make_one_self_invoice_per_payout_with_gapless_numbers(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs two processes on a shared server database (PostgreSQL)")
    entity = make_entity(timezone="Europe/Berlin", currency="EUR")
    make_lead_type(entity)
    sbs.self_billing_switch(actor=ACTOR, entity=entity, on=True)
    supplier = make_supplier(entity)
    supplier.refresh_from_db()
    sbs.seller_details_set(actor=ACTOR, partner=supplier, details=COMPLETE, tax_rate="19")
    sbs.self_billing_opt_in(actor=ACTOR, partner=supplier, signer=MAIN, accepted=True)
    ids = []
    for month in range(1, 13):
        payout = s.payout_create(actor=ACTOR, partner=supplier, period=periods.month(2025, month, "Europe/Berlin"),
                                 lines=[s.ManualLine(f"Commission {month}", 1, Decimal("100.00"))])  # fmt: skip
        s.payout_transition(actor=ACTOR, payout=payout, to="pending")
        ids.append(payout.pk)
    env = {**os.environ, "DATABASE_URL": _database_url(), "LEADBILL_HOME": str(tmp_path)}  # its mail stays there
    orders = [ids, ids[::-1]]  # one from each end: they meet in the middle and fight over the same rows
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER, ",".join(map(str, order))], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for order in orders]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    made = [tuple(map(int, out.split())) for out, _ in outputs]
    assert sum(m for m, _ in made) == 12 and sum(lost for _, lost in made) == 12
    assert Payout.objects.filter(pk__in=ids, status="ready").count() == 12
    docs = SelfBilledDocument.objects.filter(partner=supplier)
    assert sorted(docs.values_list("payout_id", flat=True)) == sorted(ids)  # exactly one per payout
    assert sorted(docs.values_list("sequence", flat=True)) == list(range(1, 13))  # gapless, no duplicate
