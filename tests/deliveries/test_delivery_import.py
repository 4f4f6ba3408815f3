"""Importing delivery CSV files, and recording single deliveries."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Delivery
from leadbill.deliveries.services import deliveries_import, delivery_record
from leadbill.domain.errors import DomainError
from tests.deliveries.conftest import HEADER, csv_file

pytestmark = pytest.mark.django_db
ACTOR = "test:importer"


def run(world, stream, **kw):
    return deliveries_import(actor=ACTOR, entity=world.entity, stream=stream, file_name="d.csv", **kw)


def errors_of(result):
    return [str(error) for error in result.errors]


def test_good_file_imports_every_row_with_exact_prices(world):
    stream = csv_file(
        "d1,buyer,web,auto,L1,2026-01-05T10:00:00+01:00,1.125,EUR",
        "d2,buyer,,home,L2,2026-01-05T10:00:00Z,,EUR",
        "d3,other,phone,auto,L3,2026-01-06T08:30:15.250000-05:00,0.000001,EUR",
    )
    result = run(world, stream)

    assert (result.rows, result.created, result.already_present, result.error_count) == (3, 3, 0, 0)
    d1, d2, d3 = Delivery.objects.filter(entity=world.entity).order_by("external_id")
    assert (d1.partner, d1.profile, d1.lead_type, d1.lead_id) == (world.buyer, world.profile, world.auto, "L1")
    assert d1.delivered_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert d1.price_micros == 1_125_000
    assert (d2.profile, d2.price_micros, d2.fields) == (None, None, {})
    assert d3.delivered_at == datetime(2026, 1, 6, 13, 30, 15, 250000, tzinfo=UTC)
    assert d3.price_micros == 1


def test_one_audit_row_per_import_with_its_counts(world):
    run(
        world, csv_file("d1,buyer,,auto,L1,2026-01-05T10:00:00Z,1,EUR", "d2,nobody,,auto,L2,2026-01-05T10:00:00Z,1,EUR")
    )

    event = AuditEvent.objects.get(action="deliveries.imported")
    assert event.entity == world.entity
    assert event.actor == ACTOR
    assert event.data == {"file": "d.csv", "rows": 2, "created": 1, "already_present": 0, "bad_rows": 1}


def test_bad_rows_are_reported_with_row_number_and_field_while_good_rows_are_kept(world):
    stream = csv_file(
        "d1,buyer,web,auto,L1,2026-01-05T10:00:00+01:00,2.00,EUR",
        "d2,buyer,web,auto,L2,2026-01-05 10:00,2.00,EUR",
        "d3,buyer,web,auto,L3,2026-01-05T10:00:00Z,abc,EUR",
        "d4,buyer,web,auto,L4,2026-01-05T10:00:00Z,2.00,EURO",
        "d5,buyer,web,auto,L5,2026-01-05T10:00:00Z,2.00,USD",
    )
    result = run(world, stream)

    assert errors_of(result) == [
        "row 3, delivered_at: no time-zone offset in '2026-01-05 10:00'",
        "row 4, price: not a decimal number: 'abc'",
        "row 5, currency: unknown currency 'EURO' (expected an ISO 4217 code such as EUR)",
    ]
    assert result.created == 2
    assert set(Delivery.objects.values_list("external_id", flat=True)) == {"d1", "d5"}


def test_currency_other_than_the_partners_is_stored_not_refused(world):
    result = run(world, csv_file("d1,buyer,,auto,L1,2026-01-05T10:00:00Z,2.00,USD"))

    assert result.error_count == 0
    assert Delivery.objects.get(external_id="d1").currency == "USD"


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(world):
    stream = csv_file(
        "d1,buyer,web,auto,L1,2026-01-05T10:00:00Z,2.00,EUR",
        "d2,buyer,web,auto,L2,2026-01-05T10:00:00,2.00,EUR",
    )
    result = run(world, stream, all_or_nothing=True)

    assert result.refused
    assert (result.created, result.error_count) == (0, 1)
    assert errors_of(result) == ["row 3, delivered_at: no time-zone offset in '2026-01-05T10:00:00'"]
    assert not Delivery.objects.exists()
    assert not AuditEvent.objects.filter(action="deliveries.imported").exists()


def test_all_or_nothing_imports_a_clean_file(world):
    result = run(world, csv_file("d1,buyer,web,auto,L1,2026-01-05T10:00:00Z,2.00,EUR"), all_or_nothing=True)

    assert not result.refused
    assert result.created == 1


def test_reimporting_the_same_file_adds_nothing(world):
    lines = [f"d{i},buyer,web,auto,L{i},2026-01-05T10:00:{i:02d}Z,2.00,EUR" for i in range(7)]
    first = run(world, csv_file(*lines), chunk_rows=3)
    second = run(world, csv_file(*lines), chunk_rows=3)

    assert (first.created, first.already_present) == (7, 0)
    assert (second.created, second.already_present, second.error_count) == (0, 7, 0)
    assert Delivery.objects.count() == 7


def test_reimport_with_new_rows_adds_only_those(world):
    run(world, csv_file("d1,buyer,web,auto,L1,2026-01-05T10:00:00Z,2.00,EUR"))
    result = run(
        world,
        csv_file(
            "d1,buyer,web,auto,L1,2026-01-05T11:00:00+01:00,2.0,EUR", "d2,buyer,web,auto,L2,2026-01-05T10:00:00Z,2,EUR"
        ),
    )

    assert (result.created, result.already_present, result.error_count) == (1, 1, 0)


def test_same_external_id_with_different_data_is_a_row_error(world):
    run(world, csv_file("d1,buyer,web,auto,L1,2026-01-05T10:00:00Z,2.00,EUR"))
    result = run(
        world,
        csv_file(
            "d2,buyer,web,auto,L2,2026-01-05T10:00:00Z,2.00,EUR", "d1,buyer,web,auto,L1,2026-01-05T10:00:00Z,2.50,EUR"
        ),
    )

    assert errors_of(result) == ["row 3, external_id: 'd1' already exists with different data"]
    assert (result.created, result.already_present) == (1, 0)
    assert Delivery.objects.get(external_id="d1").price_micros == 2_000_000


def test_different_lead_fields_count_as_different_data(world):
    header = f"{HEADER},lead.zip"
    run(world, csv_file("d1,buyer,,auto,L1,2026-01-05T10:00:00Z,2,EUR,10115", header=header))
    result = run(world, csv_file("d1,buyer,,auto,L1,2026-01-05T10:00:00Z,2,EUR,20095", header=header))

    assert errors_of(result) == ["row 2, external_id: 'd1' already exists with different data"]


@pytest.mark.parametrize("chunk_rows", [10, 2])
def test_duplicate_external_id_in_the_file_is_an_error_on_the_later_row(world, chunk_rows):
    stream = csv_file(
        "d1,buyer,web,auto,L1,2026-01-05T10:00:00Z,2.00,EUR",
        "d2,buyer,web,auto,L2,2026-01-05T10:00:00Z,2.00,EUR",
        "d3,buyer,web,auto,L3,2026-01-05T10:00:00Z,2.00,EUR",
        "d1,buyer,web,auto,L9,2026-01-05T10:00:00Z,9.00,EUR",
    )
    result = run(world, stream, chunk_rows=chunk_rows)

    assert result.created == 3
    assert [(e.row, e.field) for e in result.errors] == [(5, "external_id")]
    assert "'d1' already appears on" in result.errors[0].message
    assert Delivery.objects.get(external_id="d1").lead_id == "L1"


def test_naive_delivered_at_is_refused(world):
    result = run(world, csv_file("d1,buyer,web,auto,L1,2026-01-05 10:00,2.00,EUR"))

    assert errors_of(result) == ["row 2, delivered_at: no time-zone offset in '2026-01-05 10:00'"]
    assert not Delivery.objects.exists()


def test_unreadable_delivered_at_is_refused(world):
    result = run(world, csv_file("d1,buyer,web,auto,L1,05/01/2026,2.00,EUR"))

    assert errors_of(result) == ["row 2, delivered_at: not an ISO 8601 date-time: '05/01/2026'"]


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("0.1234567", "price: 0.1234567 has more than 6 decimals"),
        ("-1", "price: -1 is negative"),
        ("1e400", "price: 1e400 is too large"),
        ("NaN", "price: not a finite number: 'NaN'"),
    ],
)
def test_price_finer_than_six_decimals_negative_or_absurd_is_refused(world, price, message):
    result = run(world, csv_file(f"d1,buyer,web,auto,L1,2026-01-05T10:00:00Z,{price},EUR"))

    assert errors_of(result) == [f"row 2, {message}"]
    assert not Delivery.objects.exists()


def test_seven_decimal_price_is_refused(world):
    result = run(world, csv_file("d1,buyer,web,auto,L1,2026-01-05T10:00:00Z,1.1234567,EUR"))

    assert errors_of(result) == ["row 2, price: 1.1234567 has more than 6 decimals"]


def test_unknown_codes_are_named(world):
    stream = csv_file(
        "d1,nobody,,auto,L1,2026-01-05T10:00:00Z,2,EUR",
        "d2,buyer,phone,auto,L2,2026-01-05T10:00:00Z,2,EUR",
        "d3,buyer,mail,auto,L3,2026-01-05T10:00:00Z,2,EUR",
        "d4,buyer,web,boat,L4,2026-01-05T10:00:00Z,2,EUR",
        "d5,supplier,,auto,L5,2026-01-05T10:00:00Z,2,EUR",
    )
    result = run(world, stream)

    assert errors_of(result) == [
        "row 2, partner: unknown partner 'nobody'",
        "row 3, profile: profile 'phone' belongs to another partner than 'buyer'",
        "row 4, profile: unknown profile 'mail' of partner 'buyer'",
        "row 5, lead_type: unknown lead type 'boat'",
        "row 6, partner: partner 'supplier' is not a buyer",
    ]


def test_source_and_cost_are_stored_for_supplied_leads(world):
    header = f"{HEADER},source,cost"
    stream = csv_file(
        "d1,buyer,,auto,L1,2026-01-05T10:00:00Z,2,EUR,supplier,0.45",
        "d2,buyer,,auto,L2,2026-01-05T10:00:00Z,2,EUR,,",
        "d3,buyer,,auto,L3,2026-01-05T10:00:00Z,2,EUR,other,1",
        header=header,
    )
    result = run(world, stream)

    assert errors_of(result) == ["row 4, source: partner 'other' is not a supplier"]
    d1, d2 = Delivery.objects.order_by("external_id")
    assert (d1.source, d1.cost_micros) == (world.supplier, 450_000)
    assert (d2.source, d2.cost_micros) == (None, None)


def test_lead_columns_are_kept_in_fields(world):
    header = f"{HEADER},lead.zip,lead.name,lead.note"
    stream = csv_file(
        'd1,buyer,,auto,L1,2026-01-05T10:00:00Z,2,EUR,01067,"Müller, Jürgen","says ""hi"""',
        "d2,buyer,,auto,L2,2026-01-05T10:00:00Z,2,EUR,10115,,",
        header=header,
    )
    run(world, stream)

    d1, d2 = Delivery.objects.order_by("external_id")
    assert d1.fields == {"zip": "01067", "name": "Müller, Jürgen", "note": 'says "hi"'}
    assert d2.fields == {"zip": "10115"}


def test_row_numbers_are_file_lines_counting_blank_lines_and_multiline_values(world):
    header = f"{HEADER},lead.note"
    stream = csv_file(
        'd1,buyer,,auto,L1,2026-01-05T10:00:00Z,2,EUR,"two\nlines"',
        "",
        "d2,buyer,,auto,L2,2026-01-05T10:00:00,2,EUR,",
        header=header,
    )
    result = run(world, stream)

    assert errors_of(result) == ["row 5, delivered_at: no time-zone offset in '2026-01-05T10:00:00'"]
    assert Delivery.objects.get(external_id="d1").fields == {"note": "two\nlines"}


def test_a_row_with_a_wrong_number_of_values_is_a_row_error(world):
    result = run(world, csv_file("d1,buyer,,auto,L1,2026-01-05T10:00:00Z,2"))

    assert errors_of(result) == ["row 2, row: has 7 values, the header has 8 columns"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("external_id,partner,profile,lead_type,lead_id,delivered_at,price", "header: missing column(s): currency"),
        (f"{HEADER},colour", "header: unknown column 'colour' (a lead's own fields go in lead.<name> columns)"),
        (f"{HEADER},price", "header: column 'price' appears twice"),
    ],
)
def test_a_bad_header_refuses_the_file(world, header, message):
    with pytest.raises(DomainError) as exc:
        run(world, io.StringIO(header + "\n"))

    assert str(exc.value) == message


def test_an_empty_file_is_refused(world):
    with pytest.raises(DomainError, match="the file is empty"):
        run(world, io.StringIO(""))


def test_codes_of_another_entity_are_unknown(world):
    from tests.factories import make_entity, make_partner

    elsewhere = make_partner(make_entity(), code="far")
    result = run(world, csv_file(f"d1,{elsewhere.code},,auto,L1,2026-01-05T10:00:00Z,2,EUR"))

    assert errors_of(result) == ["row 2, partner: unknown partner 'far'"]


def test_progress_is_reported_per_chunk_and_at_the_end(world):
    lines = [f"d{i},buyer,,auto,L{i},2026-01-05T10:00:00Z,2,EUR" for i in range(5)]
    seen: list[int] = []
    run(world, csv_file(*lines), chunk_rows=2, progress=seen.append)

    assert seen == [2, 4, 5]


def test_record_one_delivery_validates_like_an_import_row(world):
    delivery, created = delivery_record(
        actor=ACTOR,
        entity=world.entity,
        external_id="api-1",
        partner="buyer",
        profile=world.profile,
        lead_type="auto",
        lead_id="L1",
        delivered_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
        price="2.50",
        currency="EUR",
        fields={"zip": "10115", "score": 7},
    )

    assert created
    delivery.refresh_from_db()
    assert (delivery.price_micros, delivery.profile, delivery.fields) == (
        2_500_000,
        world.profile,
        {"zip": "10115", "score": 7},
    )
    assert AuditEvent.objects.filter(action="delivery.recorded", object_id=str(delivery.pk)).exists()


def test_record_one_delivery_twice_is_idempotent_and_different_data_refused(world):
    values = {
        "external_id": "api-1",
        "partner": "buyer",
        "lead_type": "auto",
        "lead_id": "L1",
        "delivered_at": "2026-01-05T10:00:00Z",
        "price": "2.50",
        "currency": "EUR",
    }
    first, _ = delivery_record(actor=ACTOR, entity=world.entity, **values)
    again, created = delivery_record(actor=ACTOR, entity=world.entity, **values)

    assert (again.pk, created) == (first.pk, False)
    with pytest.raises(DomainError, match="already exists with different data"):
        delivery_record(actor=ACTOR, entity=world.entity, **{**values, "price": "3"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"delivered_at": datetime(2026, 1, 5, 10)}, "delivered_at: no time-zone offset in '2026-01-05T10:00:00'"),
        ({"price": "0.0000001"}, "price: 1E-7 has more than 6 decimals"),
        ({"price": 2.5}, "price: give an exact decimal string, not a float"),
        ({"partner": "nobody"}, "partner: unknown partner 'nobody'"),
        ({"colour": "red"}, "colour: unknown field(s): colour"),
    ],
)
def test_record_one_delivery_refuses_what_an_import_refuses(world, change, message):
    values = {
        "external_id": "api-1",
        "partner": "buyer",
        "lead_type": "auto",
        "lead_id": "L1",
        "delivered_at": "2026-01-05T10:00:00Z",
        "currency": "EUR",
        **change,
    }
    with pytest.raises(DomainError) as exc:
        delivery_record(actor=ACTOR, entity=world.entity, **values)

    assert str(exc.value) == message
    assert not Delivery.objects.exists()


def test_imported_and_recorded_deliveries_compare_equal_on_reimport(world):
    delivery_record(
        actor=ACTOR,
        entity=world.entity,
        external_id="d1",
        partner="buyer",
        lead_type="auto",
        lead_id="L1",
        delivered_at="2026-01-05T11:00:00+01:00",
        price="2",
        currency="EUR",
        fields={"zip": "10115", "state": "BE"},
    )
    header = f"{HEADER},lead.state,lead.zip"
    result = run(world, csv_file("d1,buyer,,auto,L1,2026-01-05T10:00:00Z,2.000,EUR,BE,10115", header=header))

    assert (result.created, result.already_present, result.error_count) == (0, 1, 0)
