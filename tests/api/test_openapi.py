"""The published contract: OpenAPI document, interactive docs from local files, and Schemathesis.

Schemathesis generates requests from the app's own OpenAPI document (valid and invalid
ones) for every operation and checks that none gets a 5xx and that every response
matches what the document says: status code, content type and body schema. A second pass
sends only invalid requests (negative data) to every operation, with the same key and checks.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leadbill.config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Not negative_data_rejection: a batch with some schema-violating rows is answered 200 on
# purpose (the valid rows are kept and the bad ones listed), and unknown query parameters
# are ignored. Invalid requests are still generated; they must get a documented 4xx.


def test_openapi_document_is_served_with_every_operation_documented(db):
    document = Client().get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["KeyAuth"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            assert "4XX" in operation["responses"] or any(c.startswith("4") for c in operation["responses"]), path
    batch = document["paths"]["/api/v1/deliveries/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert batch["schema"]["$ref"] == "#/components/schemas/DeliveryBatchIn"
    assert document["components"]["schemas"]["DeliveryBatchIn"]["properties"]["deliveries"]["maxItems"] == 10_000


def test_interactive_docs_use_files_shipped_with_the_package(db):
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn" not in html.lower() and "https://" not in html
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200


@pytest.fixture
def token(billed):
    """A full key; requests keep the test's connection (and its transaction) open, as Django's
    test client does, instead of closing it at the end of each request."""
    from leadbill.api.keys import api_key_create

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield api_key_create(actor="test:schemathesis", entity=billed.entity, name="fuzz", scope="full").token
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_own_openapi(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


# The negative pass: the same operations, key and checks, but every request breaks the document
# somewhere (wrong type, pattern, bound or enum, a required part missing, a bad path or query
# parameter, an unknown property). Only the coverage phase (deterministic edge cases of each
# part) and fuzzing run: the examples phase would send the document's own, valid examples.
# None may get a 5xx; each answer must be documented (status, content type, body), so a refusal
# is a documented 4xx with its Problem.
negative = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
negative.config.generation.update(modes=[GenerationMode.NEGATIVE])
negative.config.phases.update(phases=["coverage", "fuzzing"])
# Not negative_data_rejection here either: besides the reasons above, values the document forbids
# are accepted where Pydantic's lax mode coerces them (`0` for a boolean, a number for a date in the
# query string), "" clears a partner's field as null does, and a batch over maxItems gets 413.


@negative.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_refuses_negative_data_without_a_server_error(case, token):
    assert case.meta.generation.mode is GenerationMode.NEGATIVE, case.meta.phase
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
