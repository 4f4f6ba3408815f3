"""Payouts and self-billing over the API: lists, manual payouts, computing, the lifecycle and documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadbill.api.keys import api_key_create
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument
from tests.api.conftest import Api
from tests.factories import make_entity
from tests.payouts import conftest as payouts
from tests.payouts.conftest import ACTOR, COMPLETE, MAIN, OCTOBER, World, make_supplier, opt_in, supply

pytestmark = pytest.mark.django_db
world = payouts.world  # a supplier with 30 October leads sold to a buyer (tests/payouts/conftest.py)

LINE = {"description": "Bonus", "quantity": 1, "unit_price": "10.00"}


@dataclass
class Keys:
    full: Api
    ingest: Api
    supplier: Api  # partner key of the supplier, lead-garden
    buyer: Api  # partner key of the buyer, elbe
    other: Api  # full key of another entity, which has its own lead-garden and payout
    other_payout: Payout


def _key(entity, scope, partner=None) -> Api:
    return Api(api_key_create(actor=ACTOR, entity=entity, name=f"{scope} key", scope=scope, partner=partner).token)


@pytest.fixture
def keys(world: World) -> Keys:
    other = make_entity(slug="elsewhere", currency="EUR", timezone="Europe/Berlin")
    other_supplier = make_supplier(other)
    other_payout = s.payout_create(actor=ACTOR, partner=other_supplier, period=OCTOBER,
                                   lines=[s.ManualLine("Bonus", 1, Decimal(10))])  # fmt: skip
    return Keys(
        full=_key(world.entity, "full"), ingest=_key(world.entity, "ingest"),
        supplier=_key(world.entity, "partner", world.supplier), buyer=_key(world.entity, "partner", world.buyer),
        other=_key(other, "full"), other_payout=other_payout,
    )  # fmt: skip


def _computed(keys: Keys) -> int:
    result = keys.full.post("/payouts/compute", {"period": "2026-10"})
    assert result.status_code == 200, result.body
    (payout_id,) = result.body["created"]
    return payout_id


def _to(keys: Keys, payout_id: int, *steps: str, **body) -> dict:
    for step in steps:
        response = keys.full.post(f"/payouts/{payout_id}/transition", {"to": step, **body})
        assert response.status_code == 200, response.body
    return response.body


def _manual(keys: Keys, period: str = "2026-11", **body):
    lines = [{"description": "Referral bonus", "quantity": 2, "unit_price": "12.125"}]
    return keys.full.post("/payouts", {"partner": "lead-garden", "period": period, "lines": lines, **body})


# --- reading -------------------------------------------------------------------------------------


def test_payouts_are_listed_newest_first_filtered_and_paged(world, keys):
    october = _computed(keys)
    november = _manual(keys).body["id"]
    first = keys.full.get("/payouts", limit=1)
    assert first.status_code == 200 and [p["id"] for p in first.body["items"]] == [november]
    second = keys.full.get("/payouts", limit=1, cursor=first.body["next_cursor"])
    assert [p["id"] for p in second.body["items"]] == [october] and second.body["next_cursor"] is None
    item = second.body["items"][0]
    assert (item["partner"], item["period"], item["status"], item["origin"]) == (
        {"code": "lead-garden", "name": "Lead Garden"}, "2026-10", "draft", "computed",
    )  # fmt: skip
    assert (item["net"], item["tax"], item["total"], item["leads_paid"]) == ("132.50", "0.00", "132.50", 30)
    assert "lines" not in item
    assert [p["id"] for p in keys.full.get("/payouts", period="2026-11").body["items"]] == [november]
    assert [p["id"] for p in keys.full.get("/payouts", partner="lead-garden", status="draft").body["items"]] == [
        november, october,
    ]  # fmt: skip
    assert keys.full.get("/payouts", status="paid").body["items"] == []
    assert keys.full.get("/payouts", partner="nobody").status_code == 404
    assert keys.full.get("/payouts", cursor="garbage").status_code == 400
    assert [p["id"] for p in keys.other.get("/payouts").body["items"]] == [keys.other_payout.pk]


def test_listing_costs_the_same_queries_for_one_payout_or_many(world, keys):
    opt_in(world)
    _to(keys, _computed(keys), "pending", "ready")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert keys.full.get("/payouts").status_code == 200
        return len(ctx.captured_queries)

    one = queries()
    for month in ("2026-07", "2026-08", "2026-09"):
        _to(keys, _manual(keys, month).body["id"], "pending", "ready")
    assert len(keys.full.get("/payouts").body["items"]) == 4
    assert queries() == one


def test_a_payout_shows_its_lines_and_amounts_as_decimal_strings(world, keys):
    payout = keys.full.get(f"/payouts/{_computed(keys)}")
    assert payout.status_code == 200
    assert [(line["kind"], line["quantity"], line["unit_price"], line["amount"]) for line in payout.body["lines"]] == [
        ("charge", 25, "4", "100.00"),
        ("charge", 5, None, "32.50"),
    ]
    assert (payout.body["first_day"], payout.body["last_day"]) == ("2026-10-01", "2026-10-31")
    assert payout.body["documents"] == [] and payout.body["supplier_invoices"] == []


def test_another_entitys_payouts_and_documents_are_not_found(world, keys):
    opt_in(world)
    mine = _computed(keys)
    _to(keys, mine, "pending", "ready")
    theirs = keys.other_payout.pk
    assert keys.full.get(f"/payouts/{theirs}").status_code == 404
    assert keys.full.post(f"/payouts/{theirs}/transition", {"to": "pending"}).status_code == 404
    assert Payout.objects.get(pk=theirs).status == "draft"
    other = keys.other
    for url in (f"/payouts/{mine}", f"/payouts/{mine}/supplier-invoices/1", "/self-billed/SB-LEAD-GARDEN-000001/pdf"):
        response = other.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json", url
    assert other.get("/self-billed/SB-LEAD-GARDEN-000001/einvoice", format="ubl").status_code == 404
    assert other.post(f"/payouts/{mine}/transition", {"to": "paid"}).status_code == 404
    assert other.post(f"/payouts/{mine}/self-invoice").status_code == 404
    assert other.get("/payouts/0").status_code == 404 and other.get(f"/payouts/{2**63}").status_code == 404


def test_a_suppliers_key_reads_its_own_submitted_payouts_and_writes_nothing(world, keys):
    draft = _computed(keys)
    assert keys.supplier.get("/payouts").body["items"] == []  # a draft is the business's work in progress
    assert keys.supplier.get(f"/payouts/{draft}").status_code == 404
    _to(keys, draft, "pending")
    assert [p["id"] for p in keys.supplier.get("/payouts").body["items"]] == [draft]
    assert keys.supplier.get(f"/payouts/{draft}").body["status"] == "pending"
    assert keys.buyer.get("/payouts").body["items"] == [] and keys.buyer.get(f"/payouts/{draft}").status_code == 404
    assert keys.buyer.get("/payouts", partner="lead-garden").status_code == 404
    for method, url, body in [
        ("post", f"/payouts/{draft}/transition", {"to": "ready"}),
        ("post", "/payouts/compute", {"period": "2026-10"}),
        ("post", "/payouts", {"partner": "lead-garden", "period": "2026-11", "lines": [LINE]}),
        ("get", "/self-billing", None),
        ("put", "/self-billing", {"enabled": True}),
    ]:
        for api in (keys.supplier, keys.ingest):
            assert api.call(method, url, body).status_code == 403, (method, url)
    assert Api(None).get("/payouts").status_code == 401


# --- writing -------------------------------------------------------------------------------------


def test_a_manual_payout_is_created_as_a_draft_with_its_lines(world, keys):
    created = _manual(keys, note="  Q4 referral programme ")
    assert created.status_code == 201, created.body
    body = created.body
    assert (body["origin"], body["status"], body["period"], body["currency"]) == ("api", "draft", "2026-11", "EUR")
    assert (body["net"], body["total"], body["note"]) == ("24.25", "24.25", "Q4 referral programme")
    assert body["lines"] == [{"position": 1, "kind": "manual", "description": "Referral bonus", "quantity": 2,
                              "unit_price": "12.125", "amount": "24.25"}]  # fmt: skip
    assert Payout.objects.get(pk=body["id"]).created_by.startswith("api:")
    again = _manual(keys)
    assert again.status_code == 409 and "already has a payout for 2026-11 in EUR" in again.body["detail"]
    in_usd = _manual(keys, currency="USD")
    assert in_usd.status_code == 201 and in_usd.body["currency"] == "USD"


@pytest.mark.parametrize(
    ("change", "pointer", "says"),
    [
        ({"partner": "nobody"}, "/partner", "unknown partner"),
        ({"partner": "elbe"}, "/partner", "does not supply leads"),
        ({"period": "October"}, "/period", "cannot read period"),
        ({"currency": "XYZ"}, "/currency", "unknown currency"),
        ({"lines": []}, "/lines", ""),
        ({"lines": [LINE, {**LINE, "unit_price": 1.5}]}, "/lines/1/unit_price", ""),
        ({"lines": [{**LINE, "unit_price": "0"}]}, "/lines/0/unit_price", "a unit price above 0"),
        ({"lines": [{**LINE, "unit_price": "1.0000001"}]}, "/lines/0/unit_price", "decimals"),
        ({"lines": [{**LINE, "unit_price": "-1"}]}, "/lines/0/unit_price", ""),
        ({"lines": [{**LINE, "unit_price": "NaN"}]}, "/lines/0/unit_price", ""),
        ({"lines": [{**LINE, "unit_price": "2000000"}]}, "/lines/0/unit_price", "at most 1,000,000"),
        ({"lines": [LINE, {**LINE, "quantity": 10**12}]}, "/lines/1/quantity", "a quantity from 1 to 10,000,000"),
        ({"lines": [{**LINE, "quantity": 0}]}, "/lines/0/quantity", ""),
        ({"lines": [{**LINE, "description": "   "}]}, "/lines/0/description", "say what the line pays for"),
        ({"lines": [{**LINE, "colour": "red"}], "note": "x" * 501}, "/note", ""),
    ],
)
def test_a_manual_payout_refused_names_the_field(world, keys, change, pointer, says):
    response = keys.full.post("/payouts", {"partner": "lead-garden", "period": "2026-11", "lines": [LINE], **change})
    assert response.status_code == 422, response.body
    assert response["Content-Type"] == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.body["errors"]], response.body
    assert says in response.body["detail"]
    assert not Payout.objects.filter(entity=world.entity).exists()


def test_compute_creates_then_refreshes_drafts_and_names_empty_suppliers(world, keys):
    make_supplier(world.entity, code="quiet", name="Quiet Leads")
    first = keys.full.post("/payouts/compute", {"period": "2026-10"})
    assert first.status_code == 200, first.body
    (payout_id,) = first.body["created"]
    assert (first.body["refreshed"], first.body["kept"], first.body["empty"]) == ([], [], ["quiet"])
    again = keys.full.post("/payouts/compute", {"period": "2026-10", "partners": ["lead-garden"]})
    assert (again.body["created"], again.body["refreshed"], again.body["empty"]) == ([], [payout_id], [])
    _to(keys, payout_id, "pending")
    supply(world.supplier, world.buyer, 2, datetime(2026, 10, 30, 9, tzinfo=UTC))  # late facts for a reviewed payout
    kept = keys.full.post("/payouts/compute", {"period": "2026-10", "partners": ["lead-garden", "lead-garden"]})
    assert (kept.body["created"], kept.body["refreshed"], kept.body["kept"]) == ([], [], [payout_id])
    assert keys.full.get(f"/payouts/{payout_id}").body["leads_paid"] == 30  # left as it was


def test_compute_refusals_name_the_field(world, keys):
    bad = keys.full.post("/payouts/compute", {"period": "2026-10", "partners": ["lead-garden", "nobody", "elbe"]})
    assert bad.status_code == 422
    assert {e["pointer"]: e["message"] for e in bad.body["errors"]} == {
        "/partners/1": "unknown partner 'nobody'",
        "/partners/2": "partner 'elbe' does not supply leads; payouts are for suppliers",
    }
    assert keys.full.post("/payouts/compute", {"period": "Q4"}).body["errors"][0]["pointer"] == "/period"
    still_open = keys.full.post("/payouts/compute", {"period": "2099-01"})
    assert still_open.status_code == 422 and "has not ended" in still_open.body["detail"]
    assert not Payout.objects.filter(entity=world.entity).exists()
    opened = keys.full.post("/payouts/compute", {"period": "2099-01", "allow_open_period": True})
    assert opened.status_code == 200 and len(opened.body["created"]) == 1


def test_ready_makes_a_389_self_invoice_when_switched_on_and_opted_in(world, keys):
    opt_in(world)
    payout_id = _computed(keys)
    assert _to(keys, payout_id, "pending")["documents"] == []
    ready = _to(keys, payout_id, "ready")
    assert (ready["status"], ready["self_billing"], ready["net"], ready["tax"], ready["total"]) == (
        "ready", None, "132.50", "25.18", "157.68",
    )  # fmt: skip
    (doc,) = ready["documents"]
    assert (doc["number"], doc["type_code"], doc["role"], doc["payout"]) == (
        "SB-LEAD-GARDEN-000001", "389", "invoice", payout_id,
    )  # fmt: skip
    assert (doc["subtotal"], doc["tax"], doc["total"], doc["corrects"]) == ("132.50", "25.18", "157.68", [])
    assert ready["ready_at"] is not None
    paid = _to(keys, payout_id, "paid", reference="SEPA 2026-11-02", paid_on="2026-11-02")
    assert (paid["status"], paid["paid_on"], paid["paid_reference"]) == ("paid", "2026-11-02", "SEPA 2026-11-02")
    assert SelfBilledDocument.objects.filter(payout_id=payout_id).count() == 1


def test_self_billed_documents_download_as_pdf_ubl_and_facturx(world, keys):
    opt_in(world)
    _to(keys, _computed(keys), "pending", "ready")
    pdf = keys.full.get("/self-billed/SB-LEAD-GARDEN-000001/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert 'filename="SB-LEAD-GARDEN-000001.pdf"' in pdf["Content-Disposition"] and pdf["ETag"]
    assert keys.supplier.get("/self-billed/SB-LEAD-GARDEN-000001/pdf").content == pdf.content  # archived: identical
    ubl = keys.full.get("/self-billed/SB-LEAD-GARDEN-000001/einvoice", format="ubl")
    assert ubl.status_code == 200 and ubl["Content-Type"] == "application/xml"
    assert b"<cbc:InvoiceTypeCode>389</cbc:InvoiceTypeCode>" in ubl.content
    assert b"<cbc:ID>SB-LEAD-GARDEN-000001</cbc:ID>" in ubl.content
    assert keys.full.get("/self-billed/SB-LEAD-GARDEN-000001/einvoice", format="facturx").content.startswith(b"%PDF")
    assert keys.full.get("/self-billed/SB-LEAD-GARDEN-000001/einvoice", format="docx").status_code == 422
    assert keys.buyer.get("/self-billed/SB-LEAD-GARDEN-000001/pdf").status_code == 404
    assert keys.full.get("/self-billed/SB-LEAD-GARDEN-000002/pdf").status_code == 404


def test_equal_numbers_of_two_suppliers_series_are_told_apart_by_partner(world, keys):
    opt_in(world)
    other = make_supplier(world.entity, code="kfz-direkt", name="Kfz Direkt")
    for partner in (world.supplier, other):
        sbs.seller_details_set(actor=ACTOR, partner=partner, details=COMPLETE, tax_rate="19", number_prefix="GS-")
    sbs.self_billing_opt_in(actor=ACTOR, partner=other, signer=MAIN, accepted=True)
    supply(other, world.buyer, 4, datetime(2026, 10, 9, tzinfo=UTC))
    for payout_id in keys.full.post("/payouts/compute", {"period": "2026-10"}).body["created"]:
        _to(keys, payout_id, "pending", "ready")
    ambiguous = keys.full.get("/self-billed/GS-000001/pdf")
    assert ambiguous.status_code == 422 and ambiguous.body["errors"][0]["pointer"] == "/partner"
    assert "kfz-direkt, lead-garden" in ambiguous.body["detail"]
    assert keys.full.get("/self-billed/GS-000001/pdf", partner="kfz-direkt").content.startswith(b"%PDF")
    assert keys.supplier.get("/self-billed/GS-000001/pdf").status_code == 200  # a partner key sees only its own


def test_a_refused_transition_is_a_conflict(world, keys):
    payout_id = _computed(keys)
    skipped = keys.full.post(f"/payouts/{payout_id}/transition", {"to": "paid"})
    assert skipped.status_code == 409 and skipped.body["type"] == "urn:leadbill:problem:conflict"
    assert skipped.body["detail"] == "the payout is draft; it can go to pending or cancelled"
    no_reason = keys.full.post(f"/payouts/{payout_id}/transition", {"to": "cancelled"})
    assert no_reason.status_code == 422 and no_reason.body["errors"][0]["pointer"] == "/reason"
    unknown = keys.full.post(f"/payouts/{payout_id}/transition", {"to": "approved"})
    assert unknown.status_code == 422 and unknown.body["errors"][0]["pointer"] == "/to"
    cancelled = _to(keys, payout_id, "cancelled", reason="wrong cost file")
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "wrong cost file")
    final = keys.full.post(f"/payouts/{payout_id}/transition", {"to": "draft"})
    assert final.status_code == 409 and final.body["detail"] == "the payout is cancelled; that is final"
    assert keys.full.get(f"/payouts/{payout_id}").body["status"] == "cancelled"


def test_a_self_invoice_is_made_later_once_what_was_missing_is_put_right(world, keys):
    opt_in(world)  # opted in, then the business switches self-billing off for a while
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=False)
    payout_id = _computed(keys)
    too_early = keys.full.post(f"/payouts/{payout_id}/self-invoice")
    assert too_early.status_code == 409 and "self-invoices are made for ready payouts" in too_early.body["detail"]
    ready = _to(keys, payout_id, "pending", "ready")
    assert (
        ready["documents"] == [] and ready["self_billing"] == "Self-billing is switched off for Nordlicht Leads GmbH."
    )
    refused = keys.full.post(f"/payouts/{payout_id}/self-invoice")
    assert refused.status_code == 409 and refused.body["detail"] == ready["self_billing"]
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)  # back on: staff generate what waited
    made = keys.full.post(f"/payouts/{payout_id}/self-invoice")
    assert made.status_code == 201, made.body
    assert [d["type_code"] for d in made.body["documents"]] == ["389"]
    assert made.body["payout"]["documents"] == made.body["documents"] and made.body["payout"]["total"] == "157.68"
    twice = keys.full.post(f"/payouts/{payout_id}/self-invoice")
    assert twice.status_code == 409 and "already has its self-billed documents" in twice.body["detail"]


def test_the_suppliers_own_invoice_downloads_as_uploaded(world, keys):
    payout_id = _computed(keys)
    _to(keys, payout_id, "pending", "ready")
    content = b"%PDF-1.7 the partner's own invoice"
    upload = sbs.supplier_invoice_upload(actor="user:owner@leadgarden.example", payout=Payout.objects.get(pk=payout_id),
                                       name='RE 2026/118 "final".pdf', content=content, reference="RE-118")  # fmt: skip
    listed = keys.full.get(f"/payouts/{payout_id}").body["supplier_invoices"]
    assert [(u["id"], u["reference"], u["media_type"], u["size"]) for u in listed] == [
        (upload.pk, "RE-118", "application/pdf", len(content))
    ]
    file = keys.full.get(f"/payouts/{payout_id}/supplier-invoices/{upload.pk}")
    assert file.status_code == 200 and file.content == content and file["Content-Type"] == "application/pdf"
    assert file["Content-Disposition"] == 'attachment; filename="RE_2026_118__final_.pdf"'
    assert keys.supplier.get(f"/payouts/{payout_id}/supplier-invoices/{upload.pk}").content == content
    assert keys.full.get(f"/payouts/{payout_id}/supplier-invoices/{upload.pk + 1}").status_code == 404
    assert keys.full.get(f"/payouts/{keys.other_payout.pk}/supplier-invoices/{upload.pk}").status_code == 404
    assert keys.buyer.get(f"/payouts/{payout_id}/supplier-invoices/{upload.pk}").status_code == 404


def test_the_self_billing_switch_and_where_each_supplier_stands(world, keys):
    make_supplier(world.entity, code="quiet", name="Quiet Leads")
    off = keys.full.get("/self-billing")
    assert off.status_code == 200 and off.body["enabled"] is False
    assert [(p["code"], p["offered"], p["opted_in"]) for p in off.body["partners"]] == [
        ("quiet", False, False), ("lead-garden", False, False),
    ]  # fmt: skip
    assert off.body["partners"][0]["missing"] == ["legal name", "street address", "postal code", "city", "country",
                                                  "tax id"]  # fmt: skip
    switched = keys.full.put("/self-billing", {"enabled": True})
    assert switched.status_code == 200 and switched.body == {"enabled": True}
    opt_in(world, switch=False)
    on = keys.full.get("/self-billing", limit=1, cursor=keys.full.get("/self-billing", limit=1).body["next_cursor"])
    assert on.body["enabled"] is True and on.body["next_cursor"] is None
    (garden,) = on.body["partners"]
    assert (garden["code"], garden["offered"], garden["opted_in"], garden["missing"], garden["tax_rate"]) == (
        "lead-garden", True, True, [], "19.00",
    )  # fmt: skip
    assert garden["agreement"]["version"] == "2026-12" and garden["agreement"]["accepted_by"] == MAIN.email
    assert keys.full.put("/self-billing", {"enabled": "maybe"}).status_code == 422
    assert keys.full.put("/self-billing", {"enabled": False}).body == {"enabled": False}
    world.entity.refresh_from_db()
    assert world.entity.self_billing is False
    assert keys.other.get("/self-billing").body["partners"][0]["code"] == "lead-garden"  # its own lead-garden
    assert keys.other.get("/self-billing").body["enabled"] is False
