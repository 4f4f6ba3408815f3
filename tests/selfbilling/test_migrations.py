"""Self-billing's own app and acceptance, migrated onto a database made before them: every row kept and filled in.

The database is taken back to before `selfbilling` existed (its models were then `payouts`'),
then migrated forward again: the move is state-only (same tables, same rows), and the
acceptance backfill makes the originals pending with their agreement's period (14 days under
version 2026-11) and notes each reversal on the document it reverses.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from leadbill.documents.models import ArchivedDocument
from leadbill.documents.services import document_file
from leadbill.payouts import services as s
from leadbill.selfbilling.models import Agreement, SelfBilledDocument, SellerProfile
from tests.payouts.conftest import ACTOR, compute, opt_in, ready

pytestmark = pytest.mark.django_db(transaction=True)
TABLES = ("payouts_selfbilleddocument", "payouts_selfbilledline", "payouts_agreement", "payouts_sellerprofile",
          "payouts_supplierinvoice", "payouts_payout", "documents_archiveddocument")  # fmt: skip


def counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        out = {}
        for table in TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
    return out


def test_a_database_from_before_the_move_migrates_forward_with_its_rows_and_acceptance_filled_in(world):
    opt_in(world)
    cancelled = ready(compute(world))
    document_file(SelfBilledDocument.objects.get(payout=cancelled, role="invoice"), "pdf", actor=ACTOR)
    s.payout_transition(actor=ACTOR, payout=cancelled, to="cancelled", reason="wrong period")
    before = counts()
    numbers = sorted(SelfBilledDocument.objects.values_list("number", flat=True))
    assert before["payouts_selfbilleddocument"] == 2 and before["documents_archiveddocument"] >= 1

    call_command("migrate", "selfbilling", "zero", verbosity=0)  # as main had it: the payouts app's models
    columns = {c.name for c in connection.introspection.get_table_description(connection.cursor(),
                                                                              "payouts_selfbilleddocument")}  # fmt: skip
    assert "acceptance" not in columns and "reversed_at" not in columns
    assert counts() == before
    call_command("migrate", verbosity=0)

    assert counts() == before
    assert sorted(SelfBilledDocument.objects.values_list("number", flat=True)) == numbers
    assert ArchivedDocument.objects.filter(self_billed__isnull=False).count() >= 1
    assert SellerProfile.objects.count() == 1 and Agreement.objects.get().acceptance_days == 14
    original = SelfBilledDocument.objects.get(role="invoice")
    reversal = SelfBilledDocument.objects.get(role="invoice_reversal")
    assert (original.acceptance, original.acceptance_due_at) == ("pending", original.issued_at + timedelta(days=14))
    assert original.reversed_at == reversal.issued_at and not original.is_live
    assert reversal.acceptance == "" and reversal.acceptance_due_at is None
    # the live-document constraint is back: the payout's period can be paid out again from scratch
    again = ready(compute(world))
    assert SelfBilledDocument.objects.filter(payout=again).live().count() == 1
