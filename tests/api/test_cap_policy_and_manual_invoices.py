"""Issue 18: the partner API sets the cap policy; manual invoices through the API."""

from __future__ import annotations

from leadbill.invoicing.models import Invoice
from leadbill.partners.models import Partner


def test_the_api_sets_the_cap_policy_and_keeps_what_it_does_not_send(world):
    code = world.acme.code
    sent = world.full.put(f"/partners/{code}", {"caps": {"monthly": 600, "policy": "price", "over_cap_price": "0.75"}})
    assert sent.status_code == 200, sent.body
    assert sent.body["partner"]["caps"] == {"daily": None, "weekly": None, "monthly": 600, "policy": "price",
                                            "over_cap_price": "0.75"}  # fmt: skip
    again = world.full.put(f"/partners/{code}", {"name": "Renamed"})
    assert again.body["partner"]["caps"]["policy"] == "price"
    partner = Partner.objects.get(pk=world.acme.pk)
    assert (partner.cap_policy, partner.over_cap_price_micros) == ("price", 750_000)
    bad = world.full.put(f"/partners/{code}", {"caps": {"policy": "price", "over_cap_price": None}})
    assert bad.status_code == 422 and bad.body["errors"][0]["pointer"] == "/caps/over_cap_price"


def test_a_manual_invoice_is_drafted_or_issued_through_the_api(world):
    body = {"partner": world.acme.code, "period": "2026-01", "currency": world.acme.currency,
            "lines": [{"description": "Set-up fee", "quantity": 1, "unit_price": "250.00", "tax_rate": "0"},
                      {"description": "Extra leads", "quantity": 3, "unit_price": "1.005"}]}  # fmt: skip
    draft = world.full.post("/manual-invoices", body)
    assert draft.status_code == 201, draft.body
    assert draft.body["status"] == "draft" and draft.body["manual"] is True and draft.body["number"] is None
    assert [line["amount"] for line in draft.body["lines"]] == ["250.00", "3.02"]
    issued = world.full.post("/manual-invoices", {**body, "issue": True, "issue_date": "2026-02-01"})
    assert issued.status_code == 201 and issued.body["number"] and issued.body["period"]["key"] == "2026-01"
    bad = world.full.post("/manual-invoices", {**body, "lines": [{**body["lines"][0], "quantity": 0}]})
    assert bad.status_code == 422, bad.body
    assert "lines[0].quantity" in str(bad.body)
    assert Invoice.objects.filter(manual=True).count() == 2
    other = world.other_full.post("/manual-invoices", {**body, "partner": world.blue.code})
    assert other.status_code == 422 and other.body["type"].endswith("unknown-partner")  # not another entity's
    assert world.ingest.post("/manual-invoices", body).status_code == 403
    assert world.acme_key.post("/manual-invoices", body).status_code == 403
