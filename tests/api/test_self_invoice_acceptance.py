"""A supplier accepts or disputes its self-invoices with its partner key; no other key decides for it."""

from __future__ import annotations

from leadbill.api.keys import api_key_create
from leadbill.payouts.models import Payout
from leadbill.selfbilling.models import SelfBilledDocument
from tests.api.conftest import ACTOR, Api
from tests.api.test_scoping import _payouts


def source_key(world) -> Api:
    return Api(api_key_create(actor=ACTOR, entity=world.entity, name="source's", scope="partner",
                              partner=world.source).token)  # fmt: skip


def test_the_suppliers_key_accepts_and_the_key_is_recorded(world):
    number, _, _ = _payouts(world)
    key = source_key(world)
    done = key.post(f"/self-billed/{number}/accept")
    assert done.status_code == 200, done.body
    acceptance = done.body["acceptance"]
    assert (acceptance["state"], acceptance["deemed"], acceptance["via"]) == ("accepted", False, "api")
    assert acceptance["by"].startswith("api:") and acceptance["address"] == "127.0.0.1"
    assert key.post(f"/self-billed/{number}/accept").body["acceptance"]["at"] == acceptance["at"]  # no change
    shown = world.full.get(f"/payouts/{done.body['payout']}").body["documents"][0]
    assert shown["acceptance"]["state"] == "accepted" and shown["reversed_at"] is None


def test_a_dispute_by_api_needs_a_reason_and_reverses_the_self_invoice(world):
    number, _, _ = _payouts(world)
    key = source_key(world)
    missing = key.post(f"/self-billed/{number}/dispute", {"reason": ""})
    assert missing.status_code == 422 and missing.body["errors"][0]["field"] == "reason"
    done = key.post(f"/self-billed/{number}/dispute", {"reason": "the bonus was 20.00"})
    assert done.status_code == 200, done.body
    assert done.body["acceptance"]["state"] == "disputed" and done.body["acceptance"]["reason"] == "the bonus was 20.00"
    payout = world.full.get(f"/payouts/{done.body['payout']}").body
    assert payout["status"] == "pending"
    roles = [(d["role"], d["acceptance"] and d["acceptance"]["state"]) for d in payout["documents"]]
    assert roles == [("invoice", "disputed"), ("invoice_reversal", None)]
    again = key.post(f"/self-billed/{number}/accept")
    assert again.status_code == 409 and "was disputed" in again.body["detail"]


def test_only_the_suppliers_own_key_decides(world):
    number, _, _ = _payouts(world)
    for key in (world.full, world.ingest):
        refused = key.post(f"/self-billed/{number}/accept")
        assert refused.status_code == 403 and "partner" in refused.body["detail"]
    assert world.acme_key.post(f"/self-billed/{number}/accept").status_code == 404  # another partner's document
    assert world.other_full.post(f"/self-billed/{number}/dispute", {"reason": "x"}).status_code == 404
    doc = SelfBilledDocument.objects.get(number=number)
    assert doc.acceptance == "pending" and Payout.objects.get(pk=doc.payout_id).status == "ready"
