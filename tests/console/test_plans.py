"""The plan editor: prefilled from the current version, any number of tiers, locale numbers, copies."""

from __future__ import annotations

import html

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.catalog.models import PricePlan
from leadbill.console.forms import PlanForm
from tests.factories import TIERS_2_150_1, make_partner, make_plan
from tests.webworld import STAFF, Site

URL = "/console/leadco/partners/acme/plans/new/"


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


def text(response) -> str:
    return html.unescape(response.content.decode())


def tiers_post(tiers: list[tuple[str, str]], **extra: str) -> dict[str, str]:
    data = {"model": "graduated", "effective_from": "2026-03-01", **extra}
    for i, (up_to, price) in enumerate(tiers):
        data[f"up_to_{i}"], data[f"tier_price_{i}"] = up_to, price
    return data


def test_the_editor_starts_from_the_current_version(site: Site, finance):
    make_plan(site.acme, "graduated", {"tiers": TIERS_2_150_1})
    page = text(finance.get(URL))
    assert 'name="up_to_0" value="100"' in page and 'name="tier_price_1" value="1.50"' in page
    assert 'value="graduated" selected' in page
    assert "first 100 at €2.00, next 200 at €1.50, then €1.00" in page
    assert "not a decimal number" not in page and "notice warn" not in page


def test_a_chosen_older_version_prefills_the_editor(site: Site, finance):
    old = site.acme.price_plans.get()
    make_plan(site.acme, "graduated", {"tiers": TIERS_2_150_1}, effective_from=old.effective_from.replace(year=2025))
    page = text(finance.get(f"{URL}?from={old.pk}"))
    assert 'name="price" value="2.00"' in page
    assert finance.get(f"{URL}?from={site.other_acme.price_plans.get().pk}").status_code == 404


def test_an_empty_editor_shows_no_error_before_anything_is_typed(site: Site, finance):
    page = text(finance.post("/console/leadco/partners/acme/plans/quote/", {"model": "flat", "price": ""}))
    assert "notice warn" not in page and "Type a price" in page


def test_errors_after_submit_name_the_field(site: Site, finance):
    response = finance.post(URL, tiers_post([("100", "2.00"), ("50", "abc"), ("", "1.00")]))
    page = text(response)
    assert response.status_code == 400
    assert "Tier 2 price" in page
    response = finance.post(URL, tiers_post([("100", "2.00"), ("50", "1.50"), ("", "1.00")]))
    assert "Tier 2 up to" in text(response) and "must be above the previous bound 100" in text(response)
    assert site.acme.price_plans.count() == 1


def test_more_than_six_tiers_are_saved(site: Site, finance):
    tiers = [(str(100 * (i + 1)), f"{10 - i * 0.5:.2f}") for i in range(11)] + [("", "3.00")]
    assert finance.post(URL, tiers_post(tiers)).status_code == 302
    plan = site.acme.price_plans.get(model="graduated")
    assert len(plan.config["tiers"]) == 12 and plan.config["tiers"][-1] == {"up_to": None, "price": "3.00"}


def test_the_tier_count_is_bounded_with_a_clear_error(site: Site, finance):
    tiers = [(str(i + 1), "1.00") for i in range(PlanForm.MAX_TIERS)] + [("", "0.50")]
    response = finance.post(URL, tiers_post(tiers))
    assert response.status_code == 400 and f"at most {PlanForm.MAX_TIERS} tiers" in text(response)


def test_add_tier_posts_back_one_more_row_without_saving(site: Site, finance):
    response = finance.post(URL, tiers_post([("100", "2.00"), ("300", "1.50"), ("", "1.00")], add_tier="1"))
    page = text(response)
    assert response.status_code == 200 and 'name="up_to_3"' in page and 'name="tier_price_1" value="1.50"' in page
    assert "Not saved" not in page and site.acme.price_plans.count() == 1


def test_numbers_are_read_in_the_entity_locale(site: Site, finance):
    site.entity.locale = "de_DE"
    site.entity.save(update_fields=["locale"])
    response = finance.post(URL, tiers_post([("2.500", "7,5"), ("", "1,25")]))
    assert response.status_code == 302
    plan = site.acme.price_plans.get(model="graduated")
    assert plan.config["tiers"] == [{"up_to": 2500, "price": "7.5"}, {"up_to": None, "price": "1.25"}]
    # "1.5" is fifteen or one and a half: refused with the hint, not guessed
    response = finance.post(URL, {"model": "flat", "effective_from": "2026-04-01", "price": "1.5"})
    assert response.status_code == 400 and "Price per lead" in text(response) and "1,5" in text(response)
    page = text(finance.get(URL))  # prefilled as de_DE writes it
    assert 'name="up_to_0" value="2.500"' in page and 'name="tier_price_0" value="7,50"' in page


def test_a_plan_is_copied_to_chosen_partners_as_their_own_versions(site: Site, finance):
    crane = make_partner(site.entity, code="crane", name="Crane Co")
    usd = make_partner(site.entity, code="dollar", name="Dollar Inc", currency="USD")
    page = text(finance.get(URL))
    assert 'value="crane"' in page and 'value="dollar"' not in page and 'value="blue"' in page
    response = finance.post(URL, {"model": "flat", "effective_from": "2026-03-01", "price": "3.25",
                                  "copy_to": ["crane", "blue"]})  # fmt: skip
    assert response.status_code == 302
    for partner in (crane, site.blue, site.acme):
        assert partner.price_plans.filter(config={"price": "3.25"}, model="flat").exists()
    assert not usd.price_plans.exists()
    copied = AuditEvent.objects.get(action="price_plan.copied")
    assert copied.data["to"] == ["crane", "blue"]
    # a partner not offered (another currency) is refused and nothing is written
    response = finance.post(URL, {"model": "flat", "effective_from": "2026-05-01", "price": "4", "copy_to": ["dollar"]})
    assert response.status_code == 400 and "dollar" in text(response)
    assert not PricePlan.objects.filter(config={"price": "4"}).exists()


def test_partner_page_reads_plans_in_words(site: Site, finance):
    make_plan(
        site.acme,
        "volume",
        {"tiers": TIERS_2_150_1},
        effective_from=site.acme.price_plans.get().effective_from.replace(year=2025),
    )
    page = text(finance.get("/console/leadco/partners/acme/"))
    assert "€2.00 per lead" in page
    assert "all leads at €2.00 when the period has up to 100, €1.50 up to 300, €1.00 above 300" in page
    assert "\u221e" not in page


def test_a_tier_error_is_shown_at_its_row_numbered_as_the_table(site: Site, finance):
    data = tiers_post([("100", "2.00"), ("", ""), ("300", "x1"), ("", "1.00")])
    page = text(finance.post(URL, data))
    assert "<strong>Tier 3 price</strong>" in page
    assert 'id="id_tier_price_2" name="tier_price_2" value="x1" size="10" aria-invalid="true"' in page
    assert 'id="id_tier_price_2_error"' in page and 'id="id_tier_price_0_error"' not in page


def test_a_profiles_plan_or_a_partner_without_the_role_cannot_take_a_copy(site: Site):
    from leadbill.catalog.services import price_plan_copy
    from leadbill.domain.errors import DomainError
    from tests.factories import make_profile

    profile_plan = make_plan(site.acme, profile=make_profile(site.acme))
    with pytest.raises(DomainError, match="profile"):
        price_plan_copy(actor="t", plan=profile_plan, partners=[site.blue])
    supplier = make_partner(site.entity, code="supply", is_buyer=False, is_supplier=True)
    with pytest.raises(DomainError, match="supply is not a buyer"):
        price_plan_copy(actor="t", plan=site.acme.price_plans.get(profile=None), partners=[site.blue, supplier])
    assert site.blue.price_plans.count() == 1  # all or nothing
    with pytest.raises(DomainError, match="another entity"):
        price_plan_copy(actor="t", plan=site.acme.price_plans.get(profile=None), partners=[site.other_acme])
