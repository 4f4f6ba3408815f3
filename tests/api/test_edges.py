"""Inputs that once reached a 500 or slipped past a scope (found in review), each now a clear 4xx."""

from __future__ import annotations

import pytest

from leadbill.deliveries.models import Delivery, Return
from tests.api.conftest import delivery


def test_an_ingest_key_cannot_decide_returns_through_a_batch(world):
    world.ingest.post("/deliveries/batch", {"deliveries": [delivery(0)]})
    rows = [{"external_id": "ext-0", "reason": "r", "status": "accepted"}]
    response = world.ingest.post("/returns/batch", {"returns": rows})
    assert response.status_code == 403 and "full key" in response.body["detail"]
    assert not Return.objects.exists()
    assert world.full.post("/returns/batch", {"returns": rows}).body["created"] == 1


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:00:00Z"])
def test_dates_outside_the_supported_years_are_row_errors(world, at):
    response = world.ingest.post("/deliveries/batch", {"deliveries": [delivery(0), delivery(1, delivered_at=at)]})
    assert response.status_code == 200
    assert (
        response.body["errors"][0]["field"] == "delivered_at"
        and "outside the years" in response.body["errors"][0]["message"]
    )
    single = world.ingest.post("/deliveries", delivery(2, delivered_at=at))
    assert single.status_code == 422
    assert Delivery.objects.filter(entity=world.entity).count() == 1


@pytest.mark.parametrize("period", ["0001-01", "9999-W52", "0001-01-01..9999-12-31", "99999999999999999999-01"])
def test_far_periods_are_refused(world, period):
    response = world.full.post("/invoice-runs/preview", {"period": period})
    assert response.status_code == 422 and response.body["errors"][0]["pointer"] == "/period"


@pytest.mark.parametrize(
    ("method", "url", "body", "query"),
    [
        (
            "post",
            "/partners/blue/topups",
            {"amount": "1.00", "currency": "EUR", "occurred_at": "0001-01-01T00:00:00+14:00"},
            {},
        ),
        (
            "post",
            "/partners/acme/price-plans",
            {"model": "flat", "from": "0001-01-01T00:00:00+01:00", "price": "1"},
            {},
        ),
        ("get", "/partners/acme/report", None, {"first_day": "2026-01-01", "last_day": "9999-12-31"}),
        ("get", "/deliveries", None, {"delivered_from": "0001-01-01T00:00:00+14:00"}),
        ("get", "/deliveries", None, {"delivered_from": "2026-01-01T00:00:00"}),
    ],
)
def test_far_or_naive_times_anywhere_are_422(world, method, url, body, query):
    response = world.full.call(method, url, body, **query)
    assert response.status_code == 422, response.body


def test_nul_characters_are_named_row_errors(world):
    rows = [delivery(0), delivery(1, lead_id="x\u0000y"), delivery(2, fields={"a": "x\u0000"})]
    response = world.ingest.post("/deliveries/batch", {"deliveries": rows})
    assert response.status_code == 200 and response.body["created"] == 1
    assert {(e["row"], e["field"]) for e in response.body["errors"]} == {(1, "lead_id"), (2, "fields")}
    reason = world.ingest.post("/returns", {"external_id": "ext-0", "reason": "bad\u0000"})
    assert reason.status_code == 422 and reason.body["errors"][0]["field"] == "reason"


def test_lead_fields_with_huge_integers_are_kept_exactly(world):
    response = world.ingest.post("/deliveries", delivery(0, fields={"a": 100000000000000000000}))
    assert response.status_code == 201


def test_a_delivery_sent_single_then_replayed_in_a_batch_is_the_same(world):
    row = delivery(0, fields={"score": 1.5, "zip": "10115"})
    assert world.ingest.post("/deliveries", row).status_code == 201
    replay = world.ingest.post("/deliveries/batch", {"deliveries": [row]})
    assert replay.body["already_present"] == 1 and replay.body["rejected"] == 0


def test_odd_references_and_amounts_are_4xx(billed):
    assert billed.full.get("/invoices/draft-\u00b2").status_code == 404
    huge = billed.full.post("/adjustments", {"partner": "acme", "amount": "9999999999999999999999999", "currency": "EUR",
                                             "reason": "x"})  # fmt: skip
    assert huge.status_code == 422 and huge.body["errors"][0]["pointer"] == "/amount"
    big = billed.full.post("/partners/blue/topups", {"amount": "92233720368547758.07", "currency": "EUR"})
    assert big.status_code == 422
    assert billed.full.get("/partners/blue/balance").status_code == 200


def test_a_single_return_refuses_fields_it_does_not_take(world):
    world.ingest.post("/deliveries/batch", {"deliveries": [delivery(0)]})
    response = world.ingest.post("/returns", {"external_id": "ext-0", "reason": "r", "status": "accepted"})
    assert response.status_code == 422 and response.body["errors"][0]["pointer"] == "/status"


def test_a_key_of_unicode_digits_is_named_not_a_500(world):
    response = world.full.put("/partners/newco", {"name": "New Co", "caps": {"\u00b9": 1}})  # '¹'.isdigit() is True
    assert response.status_code == 422 and response.body["errors"][0]["pointer"] == "/caps/\u00b9"
