"""Returns over the API: request one or many, accept or reject one or many."""

from __future__ import annotations

from leadbill.deliveries.models import Return
from tests.api.conftest import delivery


def _delivered(world, count=4):
    world.ingest.post("/deliveries/batch", {"deliveries": [delivery(i) for i in range(count)]})


def test_a_return_is_requested_then_accepted(world):
    _delivered(world)
    requested = world.ingest.post("/returns", {"external_id": "ext-0", "reason": "wrong number",
                                                "requested_at": "2026-01-06T10:00:00+01:00"})  # fmt: skip
    assert requested.status_code == 201
    assert requested.body["status"] == "requested" and requested.body["partner"] == "acme"
    again = world.ingest.post("/returns", {"external_id": "ext-0", "reason": "again"})
    assert again.status_code == 409
    accepted = world.full.post(f"/returns/{requested.body['id']}/accept", {"note": "checked"})
    assert accepted.status_code == 200 and accepted.body["status"] == "accepted"
    twice = world.full.post(f"/returns/{requested.body['id']}/accept", {})
    assert twice.status_code == 409 and "only a requested return" in twice.body["detail"]


def test_rejecting_needs_a_reason(world):
    _delivered(world)
    ret = world.ingest.post("/returns", {"external_id": "ext-1", "reason": "duplicate"}).body
    assert world.full.post(f"/returns/{ret['id']}/reject", {"note": ""}).status_code == 422
    rejected = world.full.post(f"/returns/{ret['id']}/reject", {"note": "lead was valid"})
    assert rejected.body["status"] == "rejected" and rejected.body["decision_note"] == "lead was valid"


def test_unknown_delivery_and_policy_refusals_are_422_naming_the_field(world):
    _delivered(world)
    unknown = world.ingest.post("/returns", {"external_id": "nope", "reason": "x"})
    assert unknown.status_code == 422 and unknown.body["errors"][0]["pointer"] == "/external_id"
    early = world.ingest.post(
        "/returns", {"external_id": "ext-0", "reason": "x", "requested_at": "2025-01-01T00:00:00Z"}
    )
    assert early.status_code == 422 and early.body["errors"][0]["field"] == "requested_at"
    naive = world.ingest.post("/returns", {"external_id": "ext-0", "reason": "x", "requested_at": "2026-01-07T00:00"})
    assert naive.status_code == 422


def test_bulk_requests_keep_good_rows_and_replay_adds_nothing(world):
    _delivered(world)
    rows = [
        {"external_id": "ext-0", "reason": "bad phone"},
        {"external_id": "ext-1", "reason": "duplicate", "status": "accepted"},
        {"external_id": "missing", "reason": "x"},
        {"external_id": "ext-2", "reason": ""},
    ]
    first = world.full.post("/returns/batch", {"returns": rows})  # a status decides: a full key
    assert first.status_code == 200
    assert (first.body["created"], first.body["rejected"]) == (2, 2)
    assert {e["row"]: e["field"] for e in first.body["errors"]} == {2: "external_id", 3: "reason"}
    replay = world.full.post("/returns/batch", {"returns": rows[:2]})
    assert (replay.body["created"], replay.body["already_present"]) == (0, 2)
    assert Return.objects.filter(entity=world.entity).count() == 2


def test_bulk_decisions_report_each_refusal(world):
    _delivered(world)
    ids = [world.ingest.post("/returns", {"external_id": f"ext-{i}", "reason": "r"}).body["id"] for i in range(3)]
    world.full.post(f"/returns/{ids[0]}/reject", {"note": "no"})
    result = world.full.post("/returns/decide", {"ids": [*ids, 999999], "decision": "accept", "note": "ok"})
    assert result.status_code == 200
    assert sorted(r["id"] for r in result.body["decided"]) == ids[1:]
    assert {e["id"] for e in result.body["errors"]} == {ids[0], 999999}
    listed = world.full.get("/returns", status="accepted")
    assert sorted(r["id"] for r in listed.body["items"]) == ids[1:]
    assert world.full.get(f"/returns/{ids[1]}").body["status"] == "accepted"
