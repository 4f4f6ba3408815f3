"""E-invoice line arithmetic: quantity × price is the line amount exactly, or the line is a lump sum."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain import document as d
from leadbill.domain import peppol, tax
from leadbill.domain.errors import DomainError


def line(quantity: int, amount_minor: int, price_micros: int | None = None) -> d.Line:
    return d.Line(1, "charge", "Leads", quantity, price_micros, amount_minor, Decimal(19), tax.STANDARD_RATE)


def test_priced_line_keeps_its_price_per_lead():
    assert line(300, 90_000, 3_000_000).invoiced("EUR") == (Decimal(300), d.UNIT_ONE, Decimal(3))


def test_credit_of_three_leads_at_uneven_prices_is_one_lump_sum():
    assert line(3, -725).invoiced("EUR") == (Decimal(-1), d.UNIT_LUMP_SUM, Decimal("7.25"))


def test_sub_cent_price_with_rounded_line_amount_falls_back_to_lump_sum():
    # 7 leads at 0.125 = 0.875, billed as 0.88: no exact price exists for the rounded amount.
    assert line(7, 88, 125_000).invoiced("EUR") == (Decimal(1), d.UNIT_LUMP_SUM, Decimal("0.88"))


@given(
    quantity=st.integers(min_value=-100_000, max_value=100_000).filter(bool),
    amount=st.integers(min_value=-(10**9), max_value=10**9),
    price=st.one_of(st.none(), st.integers(min_value=0, max_value=10**8)),
)
def test_invoiced_quantity_times_price_is_the_amount_and_price_is_never_negative(quantity, amount, price):
    q, unit, p = line(quantity, amount, price).invoiced("EUR")
    assert p >= 0
    assert q * p == Decimal(amount).scaleb(-2)
    assert unit in (d.UNIT_ONE, d.UNIT_LUMP_SUM)


@pytest.mark.parametrize(
    ("rate", "seller", "buyer", "buyer_vat", "expected"),
    [
        (Decimal(19), "DE", "DE", "DE1", "S"),
        (Decimal(0), "DE", "FR", "FR40303265045", "AE"),
        (Decimal(0), "DE", "FR", "", "Z"),
        (Decimal(0), "DE", "US", "", "G"),
        (Decimal(0), "DE", "CH", "", "G"),
        (Decimal(0), "US", "US", "", "O"),
        (Decimal(0), "DE", "DE", "", "Z"),
    ],
)
def test_vat_category_from_rate_and_parties(rate, seller, buyer, buyer_vat, expected):
    assert tax.category(rate, seller_country=seller, buyer_country=buyer, buyer_vat_id=buyer_vat) == expected


def test_vat_id_needs_the_country_prefix():
    assert tax.vat_id("DE 811 223 345", "DE") == "DE811223345"
    assert tax.vat_id("EL123456783", "GR") == "EL123456783"
    assert tax.vat_id("98-7654321", "US") == ""
    assert tax.vat_id("811223344", "DE") == ""


def test_peppol_id_is_checked_and_derived_from_a_vat_id():
    assert peppol.check_participant_id(" 0088:5790000435968 ") == "0088:5790000435968"
    with pytest.raises(DomainError, match="not a Peppol EAS scheme"):
        peppol.check_participant_id("1234:abc")
    with pytest.raises(DomainError, match="scheme:identifier"):
        peppol.check_participant_id("DE811223345")
    assert peppol.participant_id("", country="DE", vat_id="DE811223345") == "9930:DE811223345"
    assert peppol.participant_id("", country="US", vat_id="") == ""


def test_document_refuses_a_tax_breakdown_that_does_not_cover_the_lines():
    party = d.Party(name="A", country="DE")
    with pytest.raises(DomainError, match="tax breakdown"):
        d.Document(
            kind=d.INVOICE, number="1", issue_date=date(2026, 1, 1), currency="EUR", locale="en_US",
            seller=party, buyer=party, lines=(line(1, 100, 1_000_000),),
            taxes=(d.TaxBreakdown("S", Decimal(19), 99, 19),),
        )  # fmt: skip
