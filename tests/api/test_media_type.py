"""Every JSON body, hand-read or schema-validated, must be sent as application/json (or +json): else 415."""

import json

import pytest

from tests.api.conftest import delivery

PROBLEM = "application/problem+json"


def raw_post(api, path, body, content_type):
    kwargs = {"headers": api.headers, "data": body}
    if content_type is not None:
        kwargs["content_type"] = content_type
    response = api.client.post("/api/v1" + path, **kwargs)
    response.body = json.loads(response.content) if "json" in response.get("Content-Type", "") else None
    return response


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/x-www-form-urlencoded", "text/json"])
def test_a_batch_sent_as_another_media_type_is_415_problem(world, content_type):
    body = json.dumps({"deliveries": [delivery(1)]})
    response = raw_post(world.ingest, "/deliveries/batch", body, content_type)
    assert response.status_code == 415
    assert response["Content-Type"] == PROBLEM
    assert response.body["status"] == 415 and response.body["type"].endswith("media-type")
    assert content_type in response.body["detail"]
    assert world.ingest.get("/deliveries/ext-1").status_code == 404  # nothing was recorded


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON", "application/vnd.leadbill+json"])  # fmt: skip
def test_a_batch_sent_as_json_works(world, content_type):
    body = json.dumps({"deliveries": [delivery(1)]})
    response = raw_post(world.ingest, "/deliveries/batch", body, content_type)
    assert response.status_code == 200, response.body


def test_a_schema_validated_body_as_text_plain_is_415(world):
    """Ninja-parsed bodies (here AdjustmentIn) go through the same reader: text/plain is not JSON."""
    body = json.dumps({"partner": "acme", "amount": "-5.00", "currency": "EUR", "reason": "goodwill"})
    response = raw_post(world.full, "/adjustments", body, "text/plain")
    assert response.status_code == 415, response.body
    assert response["Content-Type"] == PROBLEM and response.body["type"].endswith("media-type")
    ok = raw_post(world.full, "/adjustments", body, "application/json; charset=utf-8")
    assert ok.status_code == 201, ok.body


def test_the_test_client_sends_application_json(world):
    response = world.ingest.post("/deliveries/batch", {"deliveries": [delivery(2)]})
    assert response.status_code == 200
    assert response.wsgi_request.content_type == "application/json"
