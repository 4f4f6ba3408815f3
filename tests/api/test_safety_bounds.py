"""Held documents over the API: the preview says why, the run lists them, a release lets the next run issue."""

from __future__ import annotations

from datetime import UTC, datetime

from leadbill.invoicing.models import SafetyRelease
from tests.api.conftest import World
from tests.factories import make_deliveries, make_plan


def test_a_held_document_is_named_released_and_then_issued(billed: World):
    make_plan(billed.acme, config={"price": "200.00"}, effective_from=datetime(2026, 3, 1, tzinfo=UTC))
    make_deliveries(billed.acme, 2, datetime(2026, 3, 4, 9, tzinfo=UTC), lead_type=billed.lead_type)
    preview = billed.full.post("/invoice-runs/preview", {"period": "2026-03"}).body
    (acme,) = [p for p in preview["partners"] if p["partner"] == "acme"]
    assert acme["held"] and "unit price 200.00" in acme["held"][0]
    run = billed.full.post("/invoice-runs", {"period": "2026-03"}).body
    assert run["held"] == {"acme": acme["held"]} and run["issued"] == []

    missing = billed.full.post("/invoice-runs/release", {"period": "2026-03", "partner": "acme"})
    assert missing.status_code == 422
    unknown = billed.full.post("/invoice-runs/release", {"period": "2026-03", "partner": "nobody", "reason": "x"})
    assert unknown.status_code == 422
    assert billed.acme_key.post("/invoice-runs/release", {"period": "2026-03", "partner": "acme",
                                                          "reason": "x"}).status_code == 403  # fmt: skip
    done = billed.full.post("/invoice-runs/release", {"period": "2026-03", "partner": "acme", "reason": "agreed"})
    assert done.status_code == 201, done.body
    assert done.body["total"] == acme["total"] and done.body["reasons"] == acme["held"]
    again = billed.full.post("/invoice-runs/release", {"period": "2026-03", "partner": "acme", "reason": "agreed"})
    assert again.status_code == 409 and SafetyRelease.objects.count() == 1
    issued = billed.full.post("/invoice-runs", {"period": "2026-03"}).body
    assert len(issued["issued"]) == 1 and issued["held"] == {}
