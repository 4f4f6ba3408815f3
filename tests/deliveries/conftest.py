"""Fixtures of the delivery and return tests: one entity, its partners and lead types."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import make_entity, make_lead_type, make_partner, make_profile

HEADER = "external_id,partner,profile,lead_type,lead_id,delivered_at,price,currency"


@dataclass
class World:
    entity: Any
    buyer: Any
    profile: Any
    other: Any
    other_profile: Any
    supplier: Any
    auto: Any
    home: Any


@pytest.fixture
def world(db) -> World:
    entity = make_entity(slug="acme")
    buyer = make_partner(entity, code="buyer")
    other = make_partner(entity, code="other")
    supplier = make_partner(entity, code="supplier", is_buyer=False, is_supplier=True)
    return World(
        entity=entity,
        buyer=buyer,
        profile=make_profile(buyer, code="web"),
        other=other,
        other_profile=make_profile(other, code="phone"),
        supplier=supplier,
        auto=make_lead_type(entity, "auto"),
        home=make_lead_type(entity, "home"),
    )


def csv_file(*lines: str, header: str = HEADER) -> io.StringIO:
    return io.StringIO("\n".join([header, *lines]) + "\n")
