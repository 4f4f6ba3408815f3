"""Payment files over the API: make, read, download the stored bytes, mark sent, cancel; errors name payouts."""

from __future__ import annotations

import io

import pytest
from lxml import etree
from openpyxl import load_workbook

from leadbill.payment_files.builders import sepa
from leadbill.payouts.models import Payout
from tests.payouts.conftest import COMPLETE

pytestmark = pytest.mark.django_db
BONUS = [{"description": "Bonus", "quantity": 1, "unit_price": "10.00"}]


def ready(world, period: str) -> int:
    pk = world.full.post("/payouts", {"partner": "source", "period": period, "lines": BONUS}).body["id"]
    world.full.post(f"/payouts/{pk}/transition", {"to": "pending"})
    world.full.post(f"/payouts/{pk}/transition", {"to": "ready"})
    return pk


@pytest.fixture
def payouts(world) -> list[int]:
    from leadbill.selfbilling import services as sbs

    world.entity.iban = "DE89370400440532013000"
    world.entity.save()
    sbs.seller_details_set(actor="test:api", partner=world.source, details=COMPLETE)
    return [ready(world, "2026-01"), ready(world, "2026-02")]


def test_make_read_download_and_send_a_sepa_file(world, payouts):
    made = world.full.post("/payment-files", {"kind": "sepa", "payouts": payouts, "execution_date": "2030-01-02"})
    assert made.status_code == 201, made.body
    body = made.body
    assert (body["count"], body["total"], body["status"], body["currency"]) == (2, "20.00", "created", "EUR")
    assert [i["payout"] for i in body["items"]] == payouts
    content = world.full.get(f"/payment-files/{body['id']}/content")
    assert content.status_code == 200 and content["ETag"] == f'"{body["sha256"]}"'
    etree.XMLSchema(etree.parse(str(sepa.SCHEMA_PATH))).assertValid(etree.fromstring(content.content))
    assert world.full.get(f"/payment-files/{body['id']}/content").content == content.content
    again = world.full.post("/payment-files", {"kind": "sepa", "payouts": payouts[:1]})
    assert again.status_code == 409 and body["message_id"] in again.body["detail"]
    sent = world.full.post(f"/payment-files/{body['id']}/sent", {"sent_on": "2030-01-03"})
    assert sent.status_code == 200 and sent.body["paid"] == payouts and sent.body["already"] is False
    assert {(p.status, p.paid_on.isoformat()) for p in Payout.objects.filter(pk__in=payouts)} == {
        ("paid", "2030-01-03")}  # fmt: skip
    twice = world.full.post(f"/payment-files/{body['id']}/sent", {})
    assert twice.status_code == 200 and twice.body["already"] is True
    assert world.full.get("/payment-files").body["items"][0]["status"] == "sent"


def test_a_payout_that_cannot_be_paid_is_pointed_at(world, payouts):
    draft = world.full.post("/payouts", {"partner": "source", "period": "2026-03", "lines": BONUS}).body["id"]
    refused = world.full.post("/payment-files", {"kind": "sepa", "payouts": [*payouts, draft]})
    assert refused.status_code == 422
    (error,) = refused.body["errors"]
    assert error["pointer"] == "/payouts/2" and "(source) status: is draft" in error["message"]
    usd = world.full.post("/payment-files", {"kind": "nacha", "payouts": payouts})
    assert usd.status_code == 422 and "no ACH originator settings" in usd.body["detail"]


def test_cancel_then_make_again(world, payouts):
    first = world.full.post("/payment-files", {"kind": "sepa", "payouts": payouts}).body
    cancelled = world.full.post(f"/payment-files/{first['id']}/cancel", {"reason": "wrong"})
    assert cancelled.status_code == 200 and cancelled.body["status"] == "cancelled"
    assert world.full.post("/payment-files", {"kind": "sepa", "payouts": payouts}).status_code == 201


def test_ach_settings_and_the_spreadsheet(world, payouts):
    assert world.full.get("/payment-files/ach-settings").body["odfi_routing"] is None
    bad = world.full.put("/payment-files/ach-settings", {"odfi_routing": "021000022"})
    assert bad.status_code == 422 and {e["field"] for e in bad.body["errors"]} >= {"odfi_routing", "company_name"}
    sheet = world.full.get("/payout-sheet", status="ready")
    book = load_workbook(io.BytesIO(sheet.content))
    assert sorted(r[0] for r in book["Payouts"].iter_rows(min_row=2, values_only=True)) == payouts
    assert world.full.get("/payout-sheet", format="csv").content.decode().startswith("payout,")
