"""Applying set-up files to the database: all or nothing, idempotent, audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.catalog.models import LeadType, PricePlan
from leadbill.entities.models import Entity, NumberSeries
from leadbill.loader import services
from leadbill.loader.schema import SetupFileError
from leadbill.loader.services import setup_load, setup_read
from leadbill.partners.models import Partner, Profile
from tests.factories import make_entity, make_partner, make_profile
from tests.loader.helpers import BLUE_RIVER_LAST_TIER, SONNENSCHEIN_LAST_TIER, edited, example_text, minimal

pytestmark = pytest.mark.django_db

ACTOR = "test:loader"
TABLES = (Entity, NumberSeries, LeadType, Partner, Profile, PricePlan, AuditEvent)


def load(text: str, **kw):
    return setup_load(actor=ACTOR, document=setup_read(text), **kw)


def snapshot() -> dict[str, list[dict]]:
    """Every row of every table the loader touches, to prove nothing changed."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in TABLES}


def test_example_file_loads():
    result = load(example_text())
    assert result.counts == {
        "entity": {"created": 2, "updated": 0, "unchanged": 0},
        "lead_type": {"created": 3, "updated": 0, "unchanged": 0},
        "partner": {"created": 5, "updated": 0, "unchanged": 0},
        "profile": {"created": 2, "updated": 0, "unchanged": 0},
        "price_plan": {"created": 9, "updated": 0, "unchanged": 0},
        "books": {"created": 1, "updated": 0, "unchanged": 0},
    }
    blue = Partner.objects.get(entity__slug="acme-us", code="blue-river")
    assert (blue.credit_limit_minor, blue.return_max_share_bp, blue.billing_emails) == (
        500000,
        1000,
        ["ap@blueriver.example", "finance@blueriver.example"],
    )
    assert Partner.objects.get(code="lakeside-direct").low_balance_minor == 20000
    assert Entity.objects.get(slug="acme-eu").default_tax_rate_bp == 1900


def test_every_created_object_has_one_audit_row_by_the_actor():
    result = load(example_text())
    events = AuditEvent.objects.all()
    assert events.count() == result.created == 22
    assert set(events.values_list("actor", flat=True)) == {ACTOR}
    assert events.filter(action="partner.created").count() == 5


def test_loaded_entities_get_their_number_series():
    load(example_text())
    entity = Entity.objects.get(slug="acme-us")
    assert sorted(NumberSeries.objects.filter(entity=entity).values_list("series", "prefix")) == [
        ("credit_note", "ACME-CN-"),
        ("invoice", "ACME-"),
    ]


def test_reloading_the_same_file_changes_nothing():
    load(example_text())
    before = snapshot()
    result = load(example_text())
    assert (result.created, result.updated, result.unchanged) == (0, 0, 22)
    assert result.changes == []
    assert snapshot() == before


def test_changing_one_tier_price_updates_just_that_plan():
    load(example_text())
    audit_rows = AuditEvent.objects.count()
    result = load(edited("{up_to: 300, price: 1.50}", "{up_to: 300, price: 1.40}"))
    assert (result.created, result.updated) == (0, 1)
    change = result.changes[0]
    assert (change.kind, change.fields, change.path) == ("price_plan", ("config",), "entities[0].partners[0].plans[1]")
    plan = PricePlan.objects.get(partner__code="blue-river", lead_type__code="home", profile=None)
    assert plan.config["tiers"][1] == {"up_to": 300, "price": "1.40"}
    assert AuditEvent.objects.count() == audit_rows + 1


def test_changing_a_credit_limit_updates_the_partner_and_audits_old_and_new():
    load(example_text())
    result = load(edited("credit_limit: 5000.00", "credit_limit: 7500.00"))
    assert result.counts["partner"] == {"created": 0, "updated": 1, "unchanged": 4}
    assert result.updated == 1
    event = AuditEvent.objects.get(action="partner.changed")
    assert event.data["changed"] == {"credit_limit_minor": [500000, 750000]}
    assert Partner.objects.get(code="blue-river").credit_limit_minor == 750000


def test_removing_an_optional_key_resets_it_to_its_default():
    load(example_text())
    load(edited("        credit_limit: 5000.00\n", ""))
    assert Partner.objects.get(code="blue-river").credit_limit_minor is None


def test_changing_the_invoice_prefix_updates_the_number_series():
    load(example_text())
    load(edited('invoice_prefix: "ACME-"', 'invoice_prefix: "AC-"'))
    assert NumberSeries.objects.get(entity__slug="acme-us", series="invoice").prefix == "AC-"


def test_prices_are_stored_as_the_exact_strings_written():
    load(example_text())
    flat = PricePlan.objects.get(partner__code="blue-river", profile=None, lead_type=None)
    assert flat.config == {"price": "2.50"}
    graduated = PricePlan.objects.get(partner__code="blue-river", lead_type__code="home", profile=None)
    assert [tier["price"] for tier in graduated.config["tiers"]] == ["2.00", "1.50", "1.00"]
    assert PricePlan.objects.get(partner__code="lakeside-direct").config == {"price": "3.125"}
    assert PricePlan.objects.get(partner__code="northwind-media", side="buy").config == {"price": "0.80"}


def test_plan_dates_start_at_local_midnight_of_the_entity():
    load(example_text())
    us = PricePlan.objects.get(partner__code="blue-river", profile=None, lead_type=None)
    assert us.effective_from == datetime(2026, 1, 1, 5, tzinfo=UTC)  # New York midnight
    eu = PricePlan.objects.get(partner__code="sonnenschein")
    assert eu.effective_from == datetime(2025, 12, 31, 23, tzinfo=UTC)  # Berlin midnight


def test_a_new_plan_version_closes_the_previous_one():
    load(example_text())
    text = edited(
        "          - {model: flat, price: 2.50, from: 2026-01-01}\n",
        "          - {model: flat, price: 2.50, from: 2026-01-01}\n"
        "          - {model: flat, price: 2.75, from: 2026-06-01}\n",
    )
    result = load(text)
    assert (result.created, result.updated) == (1, 0)
    versions = PricePlan.objects.filter(partner__code="blue-river", profile=None, lead_type=None)
    assert list(versions.order_by("effective_from").values_list("config", "effective_to")) == [
        ({"price": "2.50"}, datetime(2026, 6, 1, 4, tzinfo=UTC)),
        ({"price": "2.75"}, None),
    ]


@pytest.mark.parametrize("preloaded", [False, True], ids=["empty-database", "after-a-load"])
def test_bad_tier_price_anywhere_refuses_the_whole_file(preloaded):
    if preloaded:
        load(example_text())
    before = snapshot()
    # Valid changes early in the file, a bad tier price in the last entity.
    text = edited("credit_limit: 5000.00", "credit_limit: 9000.00")
    text = edited("{up_to: null, price: 10.50}", "{up_to: null, price: -10.50}", text)
    with pytest.raises(SetupFileError) as info:
        load(text)
    assert [str(p) for p in info.value.problems] == [f"{SONNENSCHEIN_LAST_TIER}: a price cannot be negative"]
    assert snapshot() == before


def test_failure_while_applying_rolls_back_everything(monkeypatch):
    load(example_text())
    before = snapshot()
    text = edited("credit_limit: 5000.00", "credit_limit: 9000.00")
    text = edited("{up_to: null, price: 10.50}", "{up_to: null, price: 10.00}", text)
    real = services.price_plan_set

    def failing(**kw):
        if kw["partner"].code == "sonnenschein":
            raise RuntimeError("disk full")
        return real(**kw)

    monkeypatch.setattr(services, "price_plan_set", failing)
    with pytest.raises(RuntimeError):
        load(text)
    assert snapshot() == before


def test_dry_run_reports_changes_and_writes_nothing():
    before = snapshot()
    result = load(example_text(), dry_run=True)
    assert (result.dry_run, result.created) == (True, 22)
    assert snapshot() == before


def test_objects_missing_from_the_file_are_left_alone():
    load(example_text())
    entity = Entity.objects.get(slug="acme-us")
    other = make_partner(entity, code="not-in-file")
    result = load(example_text())
    assert (result.created, result.updated) == (0, 0)
    assert Partner.objects.filter(pk=other.pk).exists()


def test_plan_may_name_a_profile_already_in_the_database():
    entity = make_entity(slug="unit", currency="USD", timezone="America/New_York")
    partner = make_partner(entity, code="buyer", currency="USD")
    stored = make_profile(partner, code="ca")
    load(minimal("{model: flat, price: 1, from: 2026-01-01, profile: ca}"))
    assert PricePlan.objects.get(partner=partner).profile == stored


def test_plan_for_a_profile_of_another_partner_is_refused():
    entity = make_entity(slug="unit", currency="USD", timezone="America/New_York")
    make_profile(make_partner(entity, code="someone-else"), code="ca")
    with pytest.raises(SetupFileError) as info:
        setup_read(minimal("{model: flat, price: 1, from: 2026-01-01, profile: ca}"))
    assert [p.path for p in info.value.problems] == ["entities[0].partners[0].plans[0].profile"]


def test_refused_file_lists_problems_from_every_entity():
    text = edited("{up_to: null, price: 1.00}", "{up_to: null, price: -1.00}")
    text = edited("{up_to: null, price: 10.50}", "{up_to: null, price: -10.50}", text)
    with pytest.raises(SetupFileError) as info:
        setup_read(text)
    assert [p.path for p in info.value.problems] == [BLUE_RIVER_LAST_TIER, SONNENSCHEIN_LAST_TIER]
    assert not Entity.objects.exists()


@pytest.mark.django_db
def test_a_partner_with_deliveries_cannot_change_currency_and_nothing_is_applied():
    from datetime import UTC, datetime

    from leadbill.audit.models import AuditEvent
    from leadbill.loader.schema import SetupFileError
    from leadbill.loader.services import setup_load, setup_read
    from leadbill.partners.models import Partner
    from tests.factories import make_delivery
    from tests.loader.helpers import edited, example_text

    setup_load(actor="test", document=setup_read(example_text()))
    partner = Partner.objects.get(code="blue-river")
    make_delivery(partner, datetime(2026, 1, 5, tzinfo=UTC))
    audits = AuditEvent.objects.count()
    changed = edited(
        '        peppol_id: "9959:987654321"\n        currency: USD\n',
        '        peppol_id: "9959:987654321"\n        currency: EUR\n',
    )
    with pytest.raises(SetupFileError) as refused:
        setup_load(actor="test", document=setup_read(changed))
    assert "entities[0].partners[0].currency: cannot change USD to EUR" in str(refused.value)
    partner.refresh_from_db()
    assert partner.currency == "USD" and AuditEvent.objects.count() == audits


def test_logo_and_peppol_ids_are_loaded_relative_to_the_file(tmp_path):
    from leadbill.documents.models import Asset

    (tmp_path / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    text = minimal(
        "{model: flat, price: 1, from: 2026-01-01}",
        partner_extra="        peppol_id: '0060:123456789'\n        buyer_reference: PO-77",
        entity_extra="    logo: logo.svg\n    peppol_id: '0088:5790000435968'\n    invoice_footer: Unit Ltd, Reg. 1",
    )
    setup_load(actor=ACTOR, document=setup_read(text, base_dir=tmp_path))
    entity = Entity.objects.get(slug="unit")
    assert Asset.objects.get(sha256=entity.logo_sha256).media_type == "image/svg+xml"
    assert (entity.peppol_id, entity.invoice_footer) == ("0088:5790000435968", "Unit Ltd, Reg. 1")
    assert Partner.objects.values_list("peppol_id", "buyer_reference").get() == ("0060:123456789", "PO-77")


def test_a_logo_that_is_not_an_image_and_a_bad_peppol_id_are_named_by_path(tmp_path):
    (tmp_path / "logo.png").write_text("not really a png")
    text = minimal(
        "{model: flat, price: 1, from: 2026-01-01}",
        partner_extra="        peppol_id: 'DE811223345'",
        entity_extra="    logo: logo.png",
    )
    with pytest.raises(SetupFileError) as exc:
        setup_read(text, base_dir=tmp_path)
    problems = {p.path: p.message for p in exc.value.problems}
    assert problems["entities[0].logo"] == "logo.png is not a PNG, JPEG or SVG image"
    assert "scheme:identifier" in problems["entities[0].partners[0].peppol_id"]


def test_payment_accounts_and_remit_to_are_stored_and_frozen_into_the_seller_snapshot():
    from leadbill.entities.services import payment_details

    load(example_text())
    us, eu = Entity.objects.get(slug="acme-us"), Entity.objects.get(slug="acme-eu")
    assert us.payment_accounts[0]["ach_account"] == "000123456789"
    assert payment_details(us)["remit_to"] == "Acme Leads Inc.\nPO Box 7701\nNew York, NY 10087-7701"
    # No list: the entity's IBAN is the account of its own currency.
    assert payment_details(eu)["payment_accounts"] == [
        {"currency": "EUR", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}
    ]
    assert load(example_text()).counts["entity"] == {"created": 0, "updated": 0, "unchanged": 2}
