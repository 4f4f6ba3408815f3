"""Every resource is reached through the key's entity (and partner): others are simply not found."""

from __future__ import annotations

import pytest

from leadbill.api.main import api
from tests.api.conftest import delivery

# A valid body per operation, so that what is checked is the scope, not the input.
BODIES = {
    ("put", "/partners/{code}/profiles/{profile}"): {"name": "Web"},
    ("post", "/partners/{code}/price-plans"): {"model": "flat", "from": "2026-01-01", "price": "1.00"},
    ("post", "/returns/{return_id}/accept"): {},
    ("post", "/returns/{return_id}/reject"): {"note": "no"},
    ("post", "/invoices/{number}/payments"): {"currency": "EUR", "paid_on": "2026-02-10"},
    ("post", "/invoices/{number}/void"): {"reason": "test"},
    ("post", "/invoices/{number}/issue"): {},
    ("post", "/invoices/{number}/discard"): {},
    ("post", "/partners/{code}/topups"): {"amount": "1.00", "currency": "EUR"},
    ("post", "/payouts/{payout_id}/transition"): {"to": "ready"},
    ("post", "/payouts/{payout_id}/self-invoice"): {},
    ("post", "/partners/{code}/credit/apply"): {"currency": "EUR"},
    ("post", "/partners/{code}/credit/refunds"): {"currency": "EUR", "amount": "1.00"},
    ("post", "/invoices/{number}/write-off"): {"reason": "test"},
    ("post", "/invoices/{number}/payments/{payment_id}/reverse"): {"reason": "test"},
    ("post", "/bank-entries/{entry_id}/match"): {"invoice": "INV-000002"},
    ("post", "/partners/{code}/reminders/pause"): {"reason": "test"},
    ("post", "/payment-files/{file_id}/sent"): {},
    ("post", "/payment-files/{file_id}/cancel"): {"reason": "test"},
    ("post", "/self-billed/{number}/dispute"): {"reason": "the lead count is wrong"},
}
QUERIES = {"/partners/{code}/report": {"first_day": "2026-01-01", "last_day": "2026-01-31"}}
# PUT by code creates the object in the caller's own entity: not a way into another's.
CREATES_IN_OWN_ENTITY = {("put", "/partners/{code}"), ("put", "/lead-types/{code}")}


def _operations():
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        short = path.removeprefix("/api/v1")
        for method in methods:
            if "{" in short and (method, short) not in CREATES_IN_OWN_ENTITY:
                yield method, short


def _fill(short: str, ids: dict[str, str]) -> str:
    ids = {**ids, "number": ids["self_billed"]} if short.startswith("/self-billed/") else ids
    return short.format(**{k: ids[k] for k in ("code", "profile", "number", "return_id", "run_id", "external_id",
                                               "payout_id", "upload_id", "payment_id", "entry_id", "batch_id", "file_id") if "{" + k + "}" in short})  # fmt: skip


@pytest.fixture
def ids(billed):
    ret = billed.ingest.post("/returns", {"external_id": "ext-1", "reason": "x"}).body
    run = billed.full.get("/invoice-runs").body["items"][0]
    self_billed, pending, upload = _payouts(billed)
    batch = billed.full.post("/books/exports", {"target": "journal", "from": "2026-01-01", "to": "2026-12-31"})
    file_id = _payment_file(billed)
    return {"file_id": str(file_id), "code": "blue", "profile": "web", "number": "INV-000002", "return_id": str(ret["id"]),
            "run_id": str(run["id"]), "external_id": "ext-10", "self_billed": self_billed,
            "payout_id": str(pending), "upload_id": str(upload), "payment_id": "1",
            "entry_id": "1", "batch_id": str(batch.body["batch"]["id"])}  # fmt: skip


def _payouts(world) -> tuple[str, int, int]:
    """A ready payout of the supplier with its self-invoice, and a pending one with the supplier's own invoice."""
    from leadbill.payouts.models import Payout
    from leadbill.selfbilling import services as sbs
    from tests.payouts.conftest import COMPLETE, MAIN

    sbs.self_billing_switch(actor="test:api", entity=world.entity, on=True)
    world.source.refresh_from_db()
    sbs.seller_details_set(actor="test:api", partner=world.source, details=COMPLETE)
    sbs.self_billing_opt_in(actor="test:api", partner=world.source, signer=MAIN, accepted=True)
    bonus = [{"description": "Bonus", "quantity": 1, "unit_price": "10.00"}]
    ready = world.full.post("/payouts", {"partner": "source", "period": "2026-01", "lines": bonus}).body["id"]
    world.full.post(f"/payouts/{ready}/transition", {"to": "pending"})
    (doc,) = world.full.post(f"/payouts/{ready}/transition", {"to": "ready"}).body["documents"]
    pending = world.full.post("/payouts", {"partner": "source", "period": "2026-02", "lines": bonus}).body["id"]
    world.full.post(f"/payouts/{pending}/transition", {"to": "pending"})
    upload = sbs.supplier_invoice_upload(actor="test:api", payout=Payout.objects.get(pk=pending), name="own.pdf",
                                       content=b"%PDF-1.7 own")  # fmt: skip
    return doc["number"], pending, upload.pk


def _payment_file(world) -> int:
    """A SEPA file of the ready payout."""
    world.entity.iban = "DE89370400440532013000"
    world.entity.save()
    ready = world.full.get("/payouts", status="ready").body["items"][0]["id"]
    response = world.full.post("/payment-files", {"kind": "sepa", "payouts": [ready]})
    assert response.status_code == 201, response.body
    return int(response.body["id"])


@pytest.mark.parametrize(("method", "short"), list(_operations()))
def test_another_entitys_key_gets_404_for_every_resource(billed, ids, method, short):
    url = _fill(short, ids)  # blue, INV-000002, ...: only in this entity
    call = billed.other_full.call(method, url, BODIES.get((method, short)), **QUERIES.get(short, {}))
    assert call.status_code == 404, (method, url, call.status_code, call.body)
    assert call["Content-Type"] == "application/problem+json"


def test_another_entitys_lists_show_nothing_of_this_entity(billed):
    other = billed.other_full
    assert other.get("/invoices").body["items"] == []
    assert other.get("/deliveries").body["items"] == []
    assert other.get("/returns").body["items"] == []
    assert other.get("/invoice-runs").body["items"] == []
    assert other.get("/payouts").body["items"] == []
    assert other.get("/payment-files").body["items"] == []
    assert [p["code"] for p in other.get("/partners").body["items"]] == ["acme"]
    assert other.get("/partners/acme").body["name"] == "Other Acme"
    assert other.get("/lead-types").body == [{"code": "auto", "name": "Auto"}]
    assert other.get("/invoices", partner="blue").status_code == 404


def test_a_partner_key_sees_only_its_own_documents(billed):
    acme = billed.acme_key
    assert [i["partner"] for i in acme.get("/invoices").body["items"]] == ["acme"]
    assert acme.get("/invoices/INV-000001").status_code == 200
    assert acme.get("/invoices/INV-000001").body["history"] is None
    for url in ("/invoices/INV-000002", "/invoices/INV-000002/pdf", "/invoices/INV-000002/payments",
                "/partners/blue", "/partners/blue/balance"):  # fmt: skip
        assert acme.get(url).status_code == 404, url
    assert acme.get("/invoices/INV-000002/einvoice", format="ubl").status_code == 404
    assert acme.get("/partners/blue/report", first_day="2026-01-01", last_day="2026-01-31").status_code == 404
    assert acme.get("/invoices", partner="blue").status_code == 404
    assert acme.get("/partners/acme").status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/deliveries/batch", {"deliveries": [delivery(99)]}),
        ("post", "/returns", {"external_id": "ext-0", "reason": "x"}),
        ("post", "/invoices/INV-000001/payments", {"currency": "EUR", "paid_on": "2026-02-10"}),
        ("post", "/invoices/INV-000001/void", {"reason": "x"}),
        ("post", "/invoice-runs", {"period": "2026-01"}),
        ("post", "/credit-notes", {"partner": "acme"}),
        ("put", "/partners/acme", {"name": "Mine now"}),
        ("get", "/deliveries", None),
        ("post", "/payouts/compute", {"period": "2026-01"}),
        ("put", "/self-billing", {"enabled": True}),
        ("get", "/payment-files", None),
        ("post", "/payment-files", {"kind": "sepa", "payouts": [1]}),
        ("get", "/payout-sheet", None),
    ],
)
def test_a_partner_key_cannot_write_or_read_beyond_its_documents(billed, method, url, body):
    response = billed.acme_key.call(method, url, body)
    assert response.status_code == 403, response.body
    assert "partner scope" in response.body["detail"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/invoices/INV-000001/payments", {"currency": "EUR", "paid_on": "2026-02-10"}),
        ("post", "/invoice-runs", {"period": "2026-01"}),
        ("get", "/invoices/INV-000001/pdf", None),
        ("put", "/partners/acme", {"name": "x"}),
        ("post", "/returns/decide", {"ids": [1], "decision": "accept"}),
        ("get", "/payouts", None),
        ("post", "/payouts/compute", {"period": "2026-01"}),
    ],
)
def test_an_ingest_key_only_pushes(billed, method, url, body):
    assert billed.ingest.call(method, url, body).status_code == 403
