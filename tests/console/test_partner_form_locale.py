"""Issue 18: the console partner form reads and shows numbers as the entity's locale writes them.

"2.500,00" in de_DE and "2,500.00" in en_US are the same credit limit; the form hands the set-up
file's reader plain decimal strings, so its checks and messages stay the only ones.
"""

from __future__ import annotations

import html

import pytest

from leadbill.console.forms import PartnerForm
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner
from leadbill.partners.selectors import partner_as_dict
from tests.partners.test_partial_writes import browser_post
from tests.webworld import STAFF, Site

# what each locale's finance staff type, and what is stored
TYPED = {
    "de_DE": {"credit_limit": "2.500,00", "tax_rate": "7,5", "cap_daily": "2.500", "over_cap_price": "1,25",
              "return_max_share": "12,5 %", "payment_terms_days": "30", "return_max_age_days": "1.000"},
    "en_US": {"credit_limit": "2,500.00", "tax_rate": "7.5", "cap_daily": "2,500", "over_cap_price": "1.25",
              "return_max_share": "12.5%", "payment_terms_days": "30", "return_max_age_days": "1,000"},
}  # fmt: skip
SHOWN = {
    "de_DE": {"credit_limit": "2.500,00", "tax_rate": "7,5", "cap_daily": "2.500", "over_cap_price": "1,25",
              "return_max_share": "12,5", "payment_terms_days": "30", "return_max_age_days": "1.000"},
    "en_US": {"credit_limit": "2,500.00", "tax_rate": "7.5", "cap_daily": "2,500", "over_cap_price": "1.25",
              "return_max_share": "12.5", "payment_terms_days": "30", "return_max_age_days": "1,000"},
}  # fmt: skip
STORED = {"credit_limit_minor": 250_000, "tax_rate_bp": 750, "cap_daily": 2500, "over_cap_price_micros": 1_250_000,
          "return_max_share_bp": 1250, "payment_terms_days": 30, "return_max_age_days": 1000}  # fmt: skip
BASE = {"code": "crane", "name": "Crane Leads", "billing_mode": "credit", "active": "on", "is_buyer": "on",
        "returns_allowed": "on", "country": "DE", "cap_policy": "price"}  # fmt: skip


def text(response) -> str:
    return html.unescape(response.content.decode())


def stored(partner: Partner) -> dict[str, object]:
    partner.refresh_from_db()
    return {name: getattr(partner, name) for name in STORED}


def in_locale(site: Site, locale: str) -> None:
    Entity.objects.filter(pk=site.entity.pk).update(locale=locale)


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


@pytest.mark.parametrize("locale", ["de_DE", "en_US"])
def test_a_new_partner_reads_the_numbers_as_the_locale_writes_them(site: Site, finance, locale):
    in_locale(site, locale)
    response = finance.post("/console/leadco/partners/new/", BASE | TYPED[locale])
    assert response.status_code == 302, response.context["form"].errors
    assert stored(Partner.objects.get(entity=site.entity, code="crane")) == STORED


@pytest.mark.parametrize("locale", ["de_DE", "en_US"])
def test_the_edit_form_shows_stored_numbers_in_the_locale_and_saves_them_back_unchanged(site: Site, finance, locale):
    Partner.objects.filter(pk=site.acme.pk).update(cap_policy="price", **STORED)
    in_locale(site, locale)
    page = text(finance.get("/console/leadco/partners/acme/edit/"))
    for name, shown in SHOWN[locale].items():
        assert f'name="{name}" value="{shown}"' in page, name
    initial = PartnerForm.initial_from(partner_as_dict(Partner.objects.get(pk=site.acme.pk)), locale)
    assert {name: initial[name] for name in SHOWN[locale]} == SHOWN[locale]
    response = finance.post("/console/leadco/partners/acme/edit/", browser_post(PartnerForm.base_fields, initial))
    assert response.status_code == 302, response.context["form"].errors
    assert stored(site.acme) == STORED


def test_an_amount_the_locale_cannot_read_is_refused_naming_the_field_with_the_readers_problems(site: Site, finance):
    """de_DE "1.5" could be fifteen or one and a half: refused, never guessed; other problems shown with it."""
    Partner.objects.filter(pk=site.acme.pk).update(credit_limit_minor=100_000, cap_daily=40)
    in_locale(site, "de_DE")
    form = {**BASE, "code": "acme", "name": "Acme Insurance", "cap_policy": "flag", "credit_limit": "1.5",
            "cap_daily": "2,5", "tax_rate": "250", "contact_phone": "+49 221 555"}  # fmt: skip
    response = finance.post("/console/leadco/partners/acme/edit/", form)
    page = text(response)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Did you mean" in errors["credit_limit"][0]
    assert errors["cap_daily"] == ["a whole number such as 2.500"]
    assert "tax_rate" in errors  # the set-up file's own check of the rest, in the same answer
    for name, typed in (("credit_limit", "1.5"), ("cap_daily", "2,5"), ("tax_rate", "250")):
        assert f'id="id_{name}_error"' in page and f'name="{name}" value="{typed}"' in page, name
    acme = Partner.objects.get(pk=site.acme.pk)
    assert (acme.credit_limit_minor, acme.cap_daily, acme.contact_phone) == (100_000, 40, site.acme.contact_phone)


def test_en_us_refuses_german_grouping_and_keeps_the_stored_value(site: Site, finance):
    Partner.objects.filter(pk=site.acme.pk).update(credit_limit_minor=100_000)
    form = {**BASE, "code": "acme", "name": "Acme Insurance", "cap_policy": "flag", "credit_limit": "2.500,00"}
    response = finance.post("/console/leadco/partners/acme/edit/", form)
    assert response.status_code == 200 and list(response.context["form"].errors) == ["credit_limit"]
    assert 'name="credit_limit" value="2.500,00"' in text(response)
    assert Partner.objects.get(pk=site.acme.pk).credit_limit_minor == 100_000


def test_a_range_problem_comes_from_the_set_up_files_reader_after_the_locale_read(site: Site, finance):
    in_locale(site, "de_DE")
    form = {**BASE, "code": "acme", "name": "Acme Insurance", "cap_policy": "flag", "return_max_share": "100,5"}
    response = finance.post("/console/leadco/partners/acme/edit/", form)
    assert response.context["form"].errors["return_max_share"] == ["a percentage from 0 to 100, got 100.5"]


def test_a_post_without_the_over_cap_price_keeps_it(site: Site, finance):
    Partner.objects.filter(pk=site.acme.pk).update(cap_policy="price", over_cap_price_micros=1_250_000)
    in_locale(site, "de_DE")
    form = {**BASE, "code": "acme", "name": "Acme Insurance", "cap_daily": "1.000"}
    assert finance.post("/console/leadco/partners/acme/edit/", form).status_code == 302
    acme = Partner.objects.get(pk=site.acme.pk)
    assert (acme.over_cap_price_micros, acme.cap_daily) == (1_250_000, 1000)


def test_the_portal_account_page_round_trips_the_terms_in_the_locale(site: Site):
    """The portal account form posts the terms back as shown; in de_DE they must read back the same."""
    from tests.webworld import ACME_USER

    Partner.objects.filter(pk=site.acme.pk).update(cap_policy="price", **STORED)
    in_locale(site, "de_DE")
    acme = site.login(ACME_USER)
    response = acme.post("/portal/account/", {"contact_name": "Pat", "contact_email": "ap@acme.test",
                                              "country": "DE", "legal_name": "Acme Insurance AG"})  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors
    assert stored(site.acme) == STORED


@pytest.mark.parametrize(("locale", "shown"), [("de_DE", ("7,5 %", "2.500 a day", "within 1.000 days", "at most 12,5 %")),
                                               ("en_US", ("7.5%", "2,500 a day", "within 1,000 days", "at most 12.5%"))])  # fmt: skip
def test_the_partner_page_shows_the_terms_in_the_locale(site: Site, finance, locale, shown):
    Partner.objects.filter(pk=site.acme.pk).update(**STORED)
    in_locale(site, locale)
    page = text(finance.get("/console/leadco/partners/acme/")).replace("\xa0", " ")
    for words in shown:
        assert words in page, words


@pytest.mark.parametrize(("locale", "example"), [("de_DE", 'placeholder="25,00"'), ("en_US", 'placeholder="25.00"')])
def test_the_adjustment_amount_example_is_written_the_way_the_locale_types_numbers(
    site: Site, finance, locale, example
):
    """A placeholder saying "25.00" to someone whose form reads "25.00" as 2,500 would teach the wrong input."""
    in_locale(site, locale)
    page = finance.get("/console/leadco/partners/acme/").content.decode()
    assert f'id="adj-amount" name="amount" inputmode="decimal" required {example}' in page
