"""The supplier accepts or disputes its self-invoices in the portal; another partner's are not found."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadbill.payouts.models import Payout
from leadbill.selfbilling.models import SelfBilledDocument
from tests.payouts.conftest import make_supplier, supply
from tests.portal.test_self_billing import portal_user
from tests.selfbilling.making import self_invoiced

pytestmark = pytest.mark.django_db


def acceptance_url(doc: SelfBilledDocument) -> str:
    return f"/portal/self-billed/{doc.number}/acceptance"


def test_the_payout_page_asks_for_acceptance_and_accepting_records_the_portal_user(world):
    doc = self_invoiced(world, days=5)
    colleague = portal_user(world.supplier, "books@leadgarden.example", main=False)  # any of the partner's users
    listing = colleague.get("/portal/payouts/").content.decode()
    assert "1 to accept" in listing and "1 self-billed document awaits your acceptance" in listing
    page = colleague.get(f"/portal/payouts/{doc.payout_id}/").content.decode()
    assert "Awaiting your acceptance" in page and f'action="{acceptance_url(doc)}"' in page
    assert f'Accept<span class="visually-hidden"> {doc.number}</span>' in page and f"Dispute {doc.number}" in page
    assert colleague.get(acceptance_url(doc)).status_code == 405  # POST only
    done = colleague.post(acceptance_url(doc), {"action": "accept"}, follow=True)
    assert f"You accepted {doc.number}." in done.content.decode()
    doc.refresh_from_db()
    assert (doc.acceptance, doc.acceptance_by, doc.acceptance_via, doc.acceptance_from) == (
        "accepted", "books@leadgarden.example", "portal", "198.51.100.23",
    )  # fmt: skip
    page = colleague.get(f"/portal/payouts/{doc.payout_id}/").content.decode()
    assert "Accepted</span> by books@leadgarden.example" in page and acceptance_url(doc) not in page


def test_a_dispute_needs_a_reason_and_keeps_what_was_typed_when_refused(world):
    doc = self_invoiced(world)
    owner = portal_user(world.supplier, "owner@leadgarden.example", main=True)
    refused = owner.post(acceptance_url(doc), {"action": "dispute", "reason": "   "})
    assert refused.status_code == 400 and "say what is wrong with the self-invoice" in refused.content.decode()
    assert SelfBilledDocument.objects.get(pk=doc.pk).acceptance == "pending"
    tagged = owner.post(acceptance_url(doc), {"action": "dispute", "reason": "Rechnung\x00 falsch"})
    assert tagged.status_code == 400 and "Rechnung\x00 falsch" not in tagged.content.decode()
    assert "Rechnung falsch</textarea>" in tagged.content.decode()  # the typed text is back, control codes out
    done = owner.post(acceptance_url(doc), {"action": "dispute", "reason": "Only 25 leads arrived"}, follow=True)
    reversal = SelfBilledDocument.objects.get(corrects=doc, role="invoice_reversal")
    body = done.content.decode()
    assert f"You disputed {doc.number}: it is cancelled by credit note {reversal.number}" in body
    assert "Back for review:" in body and "Only 25 leads arrived" in body
    assert Payout.objects.get(pk=doc.payout_id).status == "pending"


def test_another_partners_document_is_not_found(world):
    doc = self_invoiced(world)
    rival = make_supplier(world.entity, code="rival-leads", name="Rival Leads")
    supply(rival, world.buyer, 1, datetime(2026, 10, 7, 9, tzinfo=UTC))
    stranger = portal_user(rival, "owner@rival.example", main=True)
    for action in ("accept", "dispute"):
        assert stranger.post(acceptance_url(doc), {"action": action, "reason": "x"}).status_code == 404
    assert SelfBilledDocument.objects.get(pk=doc.pk).acceptance == "pending"
