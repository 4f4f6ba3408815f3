"""API keys: shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import hashlib
import json

import pytest

from leadbill.api.keys import api_key_create, api_key_revoke
from leadbill.api.models import ApiKey
from leadbill.audit.models import AuditEvent
from leadbill.cli.main import main
from leadbill.domain.errors import DomainError
from tests.api.conftest import ACTOR, Api


def test_the_token_is_shown_once_and_only_its_hash_is_stored(world):
    new = api_key_create(actor=ACTOR, entity=world.entity, name="router", scope="ingest")
    secret = new.token.split("_", 2)[2]
    stored = ApiKey.objects.get(pk=new.key.pk)
    assert stored.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps([list(r) for r in ApiKey.objects.values_list()], default=str)
    assert AuditEvent.objects.filter(action="api_key.created", object_id=str(new.key.pk)).exists()


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nonsense", "Bearer lb_000000000000_wrong", "Basic dXNlcjpwYXNz", "Token lb_x"],
)
def test_missing_or_wrong_keys_get_401_problem(world, header):
    api = Api(None)
    if header:
        api.headers = {"Authorization": header}
    response = api.get("/invoices")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.body["type"] == "urn:leadbill:problem:unauthenticated"


def test_a_tampered_secret_is_refused(world):
    token = api_key_create(actor=ACTOR, entity=world.entity, name="x", scope="full").token
    assert Api(token).get("/invoices").status_code == 200
    assert Api(token[:-1] + ("A" if token[-1] != "A" else "B")).get("/invoices").status_code == 401


def test_a_revoked_key_is_refused(world):
    new = api_key_create(actor=ACTOR, entity=world.entity, name="old", scope="full")
    api = Api(new.token)
    assert api.get("/invoices").status_code == 200
    api_key_revoke(actor=ACTOR, key=new.key)
    assert api.get("/invoices").status_code == 401


def test_partner_keys_need_a_partner_of_the_same_entity(world):
    with pytest.raises(DomainError, match="needs the partner"):
        api_key_create(actor=ACTOR, entity=world.entity, name="p", scope="partner")
    with pytest.raises(DomainError, match="only partner keys name a partner"):
        api_key_create(actor=ACTOR, entity=world.entity, name="p", scope="full", partner=world.acme)
    other_partner = world.other.partners.get()
    with pytest.raises(DomainError, match="another entity"):
        api_key_create(actor=ACTOR, entity=world.entity, name="p", scope="partner", partner=other_partner)


def test_ingest_keys_push_but_do_not_read_documents(world):
    response = world.ingest.get("/invoices")
    assert response.status_code == 403
    assert "ingest scope" in response.body["detail"]
    assert world.ingest.post("/invoice-runs/preview", {"period": "2026-01"}).status_code == 403


def test_cli_creates_lists_and_revokes_keys(world, capsys):
    assert main(["apikey", "create", "--entity", "leadco", "--name", "erp", "--scope", "full", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["token"].startswith("lb_") and created["scope"] == "full"
    assert Api(created["token"]).get("/invoices").status_code == 200
    assert main(["apikey", "list", "--entity", "leadco", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert created["prefix"] in [k["prefix"] for k in listed]
    assert all("token" not in k and "secret_sha256" not in k for k in listed)
    assert main(["apikey", "revoke", created["prefix"], "--entity", "leadco"]) == 0
    assert Api(created["token"]).get("/invoices").status_code == 401
    assert (
        main(["apikey", "create", "--entity", "leadco", "--name", "p", "--scope", "partner", "--partner", "acme"]) == 0
    )
    assert "lb_" in capsys.readouterr().out
