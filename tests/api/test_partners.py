"""Partners, profiles, price plans and lead types over the API, in the set-up file's shape."""

from __future__ import annotations

from leadbill.catalog.models import PricePlan
from leadbill.partners.models import Partner


def test_a_partner_is_created_and_what_is_read_can_be_put_back(world):
    body = {
        "name": "Green Mortgages",
        "contact": {"name": "Ana", "email": "ana@green.example"},
        "billing_emails": ["ap@green.example"],
        "address": {"line1": "1 Road", "postal_code": "75001", "city": "Paris", "country": "FR"},
        "tax_id": "FR40303265045",
        "tax_rate": "20",
        "payment_terms_days": 14,
        "returns": {"max_age_days": 7, "max_share": "12.5"},
        "profiles": [{"code": "main", "name": "Main"}],
        "plans": [{"model": "graduated", "from": "2026-01-01",
                   "tiers": [{"up_to": 100, "price": "2.00"}, {"up_to": None, "price": "1.50"}]}],
    }  # fmt: skip
    created = world.full.put("/partners/green", body)
    assert created.status_code == 201, created.body
    partner = created.body["partner"]
    assert partner["tax_rate"] == "20" and partner["returns"]["max_share"] == "12.5"
    assert partner["profiles"] == [{"code": "main", "name": "Main", "active": True}]
    again = world.full.put("/partners/green", {k: v for k, v in partner.items() if k != "code"})
    assert again.status_code == 200 and again.body["updated"] == 0, again.body
    plans = world.full.get("/partners/green/price-plans").body
    assert plans[0]["model"] == "graduated" and plans[0]["config"]["tiers"][0]["price"] == "2.00"


def test_partner_problems_point_at_the_bad_values(world):
    response = world.full.put("/partners/bad", {
        "name": "", "contact": {"email": "not-an-email"}, "currency": "EURO",
        "plans": [{"model": "flat", "from": "2026-01-01", "price": "-1"}],
    })  # fmt: skip
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.body["errors"]}
    assert {"/name", "/contact/email", "/currency"} <= pointers
    assert any(p.startswith("/plans/0") for p in pointers)
    assert not Partner.objects.filter(code="bad").exists()
    mismatch = world.full.put("/partners/bad", {"code": "other", "name": "X"})
    assert mismatch.status_code == 422 and mismatch.body["errors"][0]["pointer"] == "/code"


def test_price_plan_versions_are_added_and_unchanged_ones_say_so(world):
    plan = {"model": "flat", "from": "2026-03-01", "price": "2.25", "profile": "web"}
    created = world.full.post("/partners/acme/price-plans", plan)
    assert created.status_code == 201 and created.body["action"] == "created"
    assert created.body["plan"]["profile"] == "web"
    same = world.full.post("/partners/acme/price-plans", plan)
    assert same.status_code == 200 and same.body["action"] == "unchanged"
    changed = world.full.post("/partners/acme/price-plans", {**plan, "price": "2.30"})
    assert changed.body["action"] == "updated"
    bad = world.full.post("/partners/acme/price-plans", {"model": "flat", "from": "2026-03-01", "price": "2.25",
                                                         "profile": "nope"})  # fmt: skip
    assert bad.status_code == 422 and bad.body["errors"][0]["pointer"] == "/profile"
    assert PricePlan.objects.filter(partner=world.acme, profile__code="web").count() == 1


def test_profiles_and_lead_types_are_put_by_code(world):
    assert world.full.put("/partners/acme/profiles/mobile", {"name": "Mobile"}).status_code == 201
    assert world.full.put("/partners/acme/profiles/mobile", {"name": "Mobile", "active": False}).status_code == 200
    assert [p["code"] for p in world.full.get("/partners/acme/profiles").body] == ["mobile", "web"]
    assert world.full.put("/lead-types/solar", {"name": "Solar"}).status_code == 201
    assert world.full.put("/lead-types/bad code", {"name": "x"}).status_code == 422
    assert {"code": "solar", "name": "Solar"} in world.full.get("/lead-types").body


def test_a_profile_put_without_active_keeps_a_deactivated_profile_inactive(world):
    created = world.full.put("/partners/acme/profiles/mobile", {"name": "Mobile"})
    assert created.status_code == 201 and created.body["active"] is True  # a new profile is active
    assert world.full.put("/partners/acme/profiles/mobile", {"name": "Mobile", "active": False}).body["active"] is False
    renamed = world.full.put("/partners/acme/profiles/mobile", {"name": "Mobile apps"})
    assert renamed.status_code == 200 and renamed.body == {"code": "mobile", "name": "Mobile apps", "active": False}
    assert world.acme.profiles.get(code="mobile").is_active is False


def test_partners_are_listed_by_role_with_pages(world):
    buyers = world.full.get("/partners", role="buyer", limit=1)
    assert len(buyers.body["items"]) == 1 and buyers.body["next_cursor"]
    rest = world.full.get("/partners", role="buyer", limit=1, cursor=buyers.body["next_cursor"])
    assert {buyers.body["items"][0]["code"], rest.body["items"][0]["code"]} == {"acme", "blue"}
    assert [p["code"] for p in world.full.get("/partners", role="supplier").body["items"]] == ["source"]
    assert world.full.get("/partners", cursor="garbage").status_code == 400
    assert world.full.get("/partners", limit=0).status_code == 422


def test_a_page_of_partners_costs_the_same_queries_however_many_partners(world, django_assert_max_num_queries):
    from tests.factories import make_partner, make_profile

    for _ in range(20):
        make_profile(make_partner(world.entity))
    world.full.get("/partners")  # the key's last-used stamp is written on first use
    with django_assert_max_num_queries(4):  # key, partners, their profiles (one prefetch), and slack for one
        page = world.full.get("/partners", limit=100)
    assert len(page.body["items"]) == 23
