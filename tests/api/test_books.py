"""The books over the API: the mapping read and changed key by key, exports that say what is new, the file."""

from __future__ import annotations

import hashlib

RANGE = {"from": "2026-01-01", "to": "2026-02-28"}


def test_the_mapping_defaults_to_the_chart_of_the_entitys_currency(world):
    body = world.full.get("/books/accounts").body
    assert (body["chart"], body["receivables"], body["revenue"], body["tax_payable"]) == (
        "skr03",
        "10000",
        "8400",
        "1776",
    )


def test_patching_the_mapping_changes_only_the_keys_sent(world):
    response = world.full.call("patch", "/books/accounts", {"revenue_by_lead_type": {"auto": "8401"}, "cash": "1210"})
    assert response.status_code == 200, response.body
    assert (response.body["revenue_by_lead_type"], response.body["cash"]) == ({"auto": "8401"}, "1210")
    assert response.body["receivables"] == "10000"  # not sent, kept
    bad = world.full.call("patch", "/books/accounts", {"cash": "=SUM(A1)", "revenue_by_lead_type": {"roofing": "8402"}})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.body["errors"]} == {"cash", "roofing"}, bad.body
    assert "books.cash: an account code" in bad.body["detail"]
    assert "books.revenue_by_lead_type.roofing: no lead type 'roofing'" in bad.body["detail"]
    assert world.full.get("/books/accounts").body["cash"] == "1210"


def test_an_export_over_the_api_says_what_is_new_and_serves_its_file(billed):
    first = billed.full.post("/books/exports", {"target": "journal", **RANGE})
    assert first.status_code == 201, first.body
    batch = first.body["batch"]
    assert first.body["new"] == batch["new"] == batch["documents"] > 0
    again = billed.full.post("/books/exports", {"target": "journal", **RANGE})
    assert again.status_code == 200
    assert again.body["batch"] is None
    assert again.body["summary"] == f"0 new, {batch['new']} already exported in batch {batch['id']}"
    file = billed.full.get(f"/books/exports/{batch['id']}/file")
    assert file.status_code == 200
    assert hashlib.sha256(file.content).hexdigest() == batch["sha256"]
    assert [b["id"] for b in billed.full.get("/books/exports").body] == [batch["id"]]


def test_a_datev_export_without_consultant_numbers_is_refused_by_name(billed):
    response = billed.full.post("/books/exports", {"target": "datev", **RANGE})
    assert response.status_code == 422
    assert "Berater and Mandant" in response.body["detail"]
