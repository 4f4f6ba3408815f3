"""Two entities with keys of every scope, and a client that speaks JSON with a bearer key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from leadbill.api.keys import api_key_create
from leadbill.catalog.models import LeadType
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner
from tests.factories import make_entity, make_lead_type, make_partner, make_plan, make_profile

ACTOR = "test:api"
JAN_5 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Api:
    """A test client for /api/v1 with one key; bodies are JSON, answers parsed when JSON."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | str | None = None, **query: Any):
        url = "/api/v1" + path
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs: dict[str, Any] = {"headers": self.headers}
        if data is not None:
            kwargs.update(data=data, content_type="application/json")
        elif query:
            kwargs["data"] = query
        response = getattr(self.client, method)(url, **kwargs)
        content_type = response.get("Content-Type", "")
        response.body = json.loads(response.content) if "json" in content_type and not response.streaming else None
        return response

    def get(self, path: str, **query: Any):
        return self.call("get", path, **query)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.call("post", path, body if body is not None else ({} if "raw" not in kw else None), **kw)

    def put(self, path: str, body: Any = None, **kw: Any):
        return self.call("put", path, body, **kw)


@dataclass
class World:
    entity: Entity
    acme: Partner  # buyer, credit, flat 2.00, profile "web"
    blue: Partner  # buyer, prepay, flat 1.50
    source: Partner  # supplier
    lead_type: LeadType
    other: Entity  # another entity with its own partner "acme"
    full: Api
    ingest: Api
    acme_key: Api  # partner key of acme
    blue_key: Api
    other_full: Api
    anonymous: Api


@pytest.fixture
def world(db) -> World:
    entity = make_entity(slug="leadco", timezone="UTC", currency="EUR", invoice_prefix="INV-", credit_note_prefix="CN-",
                         default_tax_rate_bp=1900)  # fmt: skip
    lead_type = make_lead_type(entity, "auto")
    acme = make_partner(entity, code="acme", name="Acme Insurance", report_fields=["zip"], tax_id="DE811907980")
    make_profile(acme, code="web", name="Web")
    make_plan(acme, config={"price": "2.00"})
    blue = make_partner(entity, code="blue", name="Blue Leads", billing_mode="prepay")
    make_plan(blue, config={"price": "1.50"})
    source = make_partner(entity, code="source", name="Lead Source", is_buyer=False, is_supplier=True)
    other = make_entity(slug="other", timezone="UTC", currency="EUR", invoice_prefix="OTH-", credit_note_prefix="OCN-")
    make_lead_type(other, "auto")
    other_acme = make_partner(other, code="acme", name="Other Acme")
    make_plan(other_acme, config={"price": "9.00"})

    def key(ent: Entity, scope: str, partner: Partner | None = None) -> Api:
        return Api(api_key_create(actor=ACTOR, entity=ent, name=f"{scope} key", scope=scope, partner=partner).token)

    return World(
        entity=entity, acme=acme, blue=blue, source=source, lead_type=lead_type, other=other,
        full=key(entity, "full"), ingest=key(entity, "ingest"), acme_key=key(entity, "partner", acme),
        blue_key=key(entity, "partner", blue), other_full=key(other, "full"), anonymous=Api(None),
    )  # fmt: skip


def delivery(n: int, partner: str = "acme", **kw: Any) -> dict[str, Any]:
    return {
        "external_id": f"ext-{n}",
        "partner": partner,
        "lead_type": "auto",
        "lead_id": f"lead-{n}",
        "delivered_at": (JAN_5 + timedelta(minutes=n)).isoformat(),
        "currency": "EUR",
        **kw,
    }


@pytest.fixture
def billed(world: World) -> World:
    """January billed: acme 3 leads (one returned before the run), blue 2 leads after a top-up."""
    rows = [delivery(i, fields={"zip": f"1011{i}"}) for i in range(3)] + [delivery(10 + i, "blue") for i in range(2)]
    assert world.ingest.post("/deliveries/batch", {"deliveries": rows}).status_code == 200
    assert world.full.post("/partners/blue/topups", {"amount": "100.00", "currency": "EUR",
                           "occurred_at": "2026-01-01T00:00:00+00:00"}).status_code == 201  # fmt: skip
    response = world.full.post("/invoice-runs", {"period": "2026-01", "issue_date": "2026-02-01"})
    assert response.status_code == 201, response.body
    return world
