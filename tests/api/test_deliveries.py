"""Deliveries over the API: single and batch, idempotent on external id, bad rows named."""

from __future__ import annotations

import json

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Delivery
from tests.api.conftest import delivery


def test_batch_records_deliveries_and_a_replay_creates_nothing(world):
    rows = [delivery(i, fields={"zip": "10115", "score": 7}) for i in range(5)]
    first = world.ingest.post("/deliveries/batch", {"deliveries": rows})
    assert first.status_code == 200
    assert first.body == {"received": 5, "accepted": 5, "created": 5, "already_present": 0, "decided": 0,
                          "rejected": 0, "errors": []}  # fmt: skip
    replay = world.ingest.post("/deliveries/batch", {"deliveries": rows})
    assert replay.status_code == 200
    assert replay.body["accepted"] == 5 and replay.body["created"] == 0 and replay.body["already_present"] == 5
    assert Delivery.objects.filter(entity=world.entity).count() == 5
    stored = Delivery.objects.get(entity=world.entity, external_id="ext-0")
    assert stored.fields == {"zip": "10115", "score": 7}
    assert AuditEvent.objects.filter(action="deliveries.received", entity=world.entity).count() == 2


def test_bad_rows_are_named_and_the_valid_rows_kept(world):
    rows = [
        delivery(0),
        delivery(1, partner="nobody"),
        delivery(2, price=2.5),
        delivery(3, currency="EURO"),
        delivery(4, delivered_at="2026-01-05 10:00"),
        delivery(5, lead_type=7),
        delivery(6),
        "not an object",
        delivery(8, colour="red"),
        delivery(0),
    ]
    response = world.ingest.post("/deliveries/batch", {"deliveries": rows})
    assert response.status_code == 200
    body = response.body
    assert (body["received"], body["created"], body["rejected"]) == (10, 2, 8)
    errors = {e["row"]: e for e in body["errors"]}
    assert errors[1]["field"] == "partner" and "unknown partner 'nobody'" in errors[1]["message"]
    assert errors[1]["pointer"] == "/deliveries/1/partner"
    assert errors[2]["field"] == "price" and "decimal string" in errors[2]["message"]
    assert errors[3]["field"] == "currency" and "EURO" in errors[3]["message"]
    assert errors[4]["field"] == "delivered_at" and "offset" in errors[4]["message"]
    assert errors[5]["field"] == "lead_type" and "string" in errors[5]["message"]
    assert errors[7]["pointer"] == "/deliveries/7" and "object" in errors[7]["message"]
    assert errors[8]["field"] == "colour"
    assert errors[9]["field"] == "external_id" and "row 0" in errors[9]["message"]
    assert set(Delivery.objects.filter(entity=world.entity).values_list("external_id", flat=True)) == {"ext-0", "ext-6"}


def test_all_or_nothing_refuses_the_whole_batch(world):
    rows = [delivery(0), delivery(1, partner="nobody")]
    response = world.ingest.post("/deliveries/batch", {"deliveries": rows, "all_or_nothing": True})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.body["type"] == "urn:leadbill:problem:invalid-rows"
    assert "nothing was recorded" in response.body["detail"]
    assert response.body["errors"][0]["row"] == 1
    assert not Delivery.objects.filter(entity=world.entity).exists()


def test_a_batch_of_only_bad_rows_is_a_422(world):
    response = world.ingest.post("/deliveries/batch", {"deliveries": [delivery(0, partner="nobody")]})
    assert response.status_code == 422
    assert response.body["errors"][0]["pointer"] == "/deliveries/0/partner"


def test_a_batch_over_10000_rows_is_refused_before_any_row_is_read(world):
    rows = [delivery(i) for i in range(10_001)]
    response = world.ingest.post("/deliveries/batch", {"deliveries": rows})
    assert response.status_code == 413
    assert "at most 10,000" in response.body["detail"] and "10,001" in response.body["detail"]
    assert not Delivery.objects.filter(entity=world.entity).exists()


def test_a_batch_of_exactly_10000_rows_is_recorded(world):
    rows = [delivery(i) for i in range(10_000)]
    response = world.ingest.post("/deliveries/batch", {"deliveries": rows})
    assert response.status_code == 200
    assert response.body["created"] == 10_000


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        ('{"deliveries": [', 400, "not valid JSON"),
        ("", 400, "no body"),
        ("[1, 2]", 422, "must be an object"),
        ('{"deliveries": []}', 422, "non-empty array"),
        ('{"deliveries": {}}', 422, "non-empty array"),
        ('{"deliveries": [{}], "extra": 1}', 422, "unknown field"),
        ('{"deliveries": [{}], "all_or_nothing": "yes"}', 422, "true or false"),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(world, raw, status, words):
    response = world.ingest.post("/deliveries/batch", raw=raw)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert words in response.body["detail"]


def test_a_body_that_is_not_json_is_415(world):
    response = world.ingest.client.post(
        "/api/v1/deliveries/batch", data="a=1", content_type="text/plain", headers=world.ingest.headers
    )
    assert response.status_code == 415


def test_single_delivery_is_idempotent_and_conflicts_are_409(world):
    row = delivery(1, price="2.50", profile="web")
    created = world.ingest.post("/deliveries", row)
    assert created.status_code == 201
    assert created.body["price"] == "2.5" or created.body["price"] == "2.50"
    assert created.body["profile"] == "web"
    assert created.body["delivered_at"].endswith(("Z", "+00:00"))
    again = world.ingest.post("/deliveries", row)
    assert again.status_code == 200 and again.body["external_id"] == "ext-1"
    conflict = world.ingest.post("/deliveries", {**row, "price": "3.00"})
    assert conflict.status_code == 409
    assert conflict.body["errors"][0]["pointer"] == "/external_id"
    assert world.ingest.post("/deliveries", {**row, "external_id": "x2", "profile": "nope"}).status_code == 422
    assert world.ingest.post("/deliveries", {**row, "external_id": "x3", "price": 2.5}).status_code == 422
    assert Delivery.objects.filter(entity=world.entity).count() == 1


def test_deliveries_are_read_back_by_external_id_and_listed_newest_first(world):
    world.ingest.post("/deliveries/batch", {"deliveries": [delivery(i) for i in range(5)]})
    one = world.ingest.get("/deliveries/ext-3")
    assert one.status_code == 200 and one.body["lead_id"] == "lead-3"
    page = world.full.get("/deliveries", limit=2)
    assert [d["external_id"] for d in page.body["items"]] == ["ext-4", "ext-3"]
    rest = world.full.get("/deliveries", limit=10, cursor=page.body["next_cursor"])
    assert [d["external_id"] for d in rest.body["items"]] == ["ext-2", "ext-1", "ext-0"]
    assert rest.body["next_cursor"] is None
    assert world.full.get("/deliveries/nope").status_code == 404


def test_request_size_limit_answers_413(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    rows = [delivery(i) for i in range(50)]
    response = world.ingest.post("/deliveries/batch", raw=json.dumps({"deliveries": rows}))
    assert response.status_code == 413


def test_a_batch_that_meets_a_deadlock_is_told_to_retry_and_its_replay_records_it(world, monkeypatch):
    from django.db import OperationalError

    from leadbill.api.routers import deliveries as router

    rows = [delivery(i) for i in range(3)]
    real = router.deliveries_receive

    class Deadlock(Exception):
        sqlstate = "40P01"  # what psycopg's DeadlockDetected carries

    def deadlocked(**kw):
        raise OperationalError("deadlock detected") from Deadlock("deadlock detected")

    monkeypatch.setattr(router, "deliveries_receive", deadlocked)
    refused = world.ingest.post("/deliveries/batch", {"deliveries": rows})
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.body["type"] == "urn:leadbill:problem:busy" and "send it again" in refused.body["detail"]
    monkeypatch.setattr(router, "deliveries_receive", real)
    again = world.ingest.post("/deliveries/batch", {"deliveries": rows})
    assert again.status_code == 200 and again.body["created"] == 3


def test_a_database_error_that_retrying_cannot_cure_stays_a_500(world, monkeypatch):
    from django.db import OperationalError

    from leadbill.api.routers import deliveries as router

    def broken(**kw):
        raise OperationalError("no such table: deliveries_delivery")

    monkeypatch.setattr(router, "deliveries_receive", broken)
    response = world.ingest.post("/deliveries/batch", {"deliveries": [delivery(1)]})
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert response.body["type"] == "urn:leadbill:problem:server"


def test_a_locked_sqlite_database_is_told_to_retry(world, monkeypatch):
    import sqlite3

    from django.db import OperationalError

    from leadbill.api.routers import deliveries as router

    def locked(**kw):
        raise OperationalError("database is locked") from sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(router, "deliveries_receive", locked)
    response = world.ingest.post("/deliveries/batch", {"deliveries": [delivery(1)]})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
