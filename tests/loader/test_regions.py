"""Issue 18: the state or province of an address in the set-up file, the API and the console form."""

from __future__ import annotations

import pytest

from leadbill.loader.schema import SetupFileError, parse_document
from tests.loader.helpers import example_text, minimal


def test_the_example_entity_and_partner_carry_their_state():
    document = parse_document(example_text())
    acme = document.entities[0]
    assert acme.address.region == "NY" and acme.columns()["region"] == "NY"
    blue = acme.partners[0]
    assert blue.columns()["region"] == "MA"


def test_a_state_name_is_stored_as_its_code_and_a_wrong_one_is_named():
    text = minimal(partner_extra="        address: {city: Austin, region: texas, country: US}")
    assert parse_document(text).entities[0].partners[0].columns()["region"] == "TX"
    with pytest.raises(SetupFileError) as info:
        parse_document(minimal(partner_extra="        address: {city: Austin, region: Texass, country: US}"))
    assert [str(p) for p in info.value.problems] == [
        "entities[0].partners[0].address.region: 'Texass' is not a US state: give its code or name, e.g. NY"
    ]


def test_elsewhere_the_region_is_free_text():
    text = minimal(partner_extra="        address: {city: München, region: Bayern, country: DE}")
    assert parse_document(text).entities[0].partners[0].columns()["region"] == "Bayern"
