"""Issue 18: the partner API takes and gives back the state or province of the partner's address."""

from __future__ import annotations

from leadbill.partners.models import Partner


def test_the_api_takes_and_gives_back_the_partners_state(world):
    body = {"name": "Green Mortgages", "address": {"line1": "1 Main St", "postal_code": "10001", "city": "New York",
                                                   "region": "New York", "country": "US"}}  # fmt: skip
    created = world.full.put("/partners/green", body)
    assert created.status_code == 201, created.body
    assert created.body["partner"]["address"]["region"] == "NY"
    assert Partner.objects.get(code="green").region == "NY"
    bad = world.full.put("/partners/green", {**body, "address": {**body["address"], "region": "ZZ"}})
    assert bad.status_code == 422 and bad.body["errors"][0]["pointer"] == "/address/region"
