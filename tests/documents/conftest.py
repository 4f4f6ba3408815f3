"""A small billing history that produces every document kind, for the documents tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from leadbill.deliveries.models import Return
from leadbill.documents.assets import asset_store
from leadbill.domain import periods
from leadbill.invoicing.models import Invoice
from leadbill.invoicing.services import invoice_run_issue, invoice_void, topup_record
from tests.factories import TIERS_2_150_1, make_deliveries, make_entity, make_partner, make_plan, summarise

ACTOR = "test:documents"
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="40" height="40" fill="#0b6e4f"/>'
    b'<text x="48" y="28" font-family="Source Sans Pro" font-size="20">Nordlicht</text></svg>'
)


@dataclass
class History:
    entity: object
    domestic: Invoice  # DE → DE at 19 %, graduated tiers, two months
    february: Invoice  # with a return credit line
    reverse_charge: Invoice  # DE → FR at 0 %: AE
    export: Invoice  # DE → US: G
    receipt: Invoice  # prepay
    voided: Invoice
    credit_note: Invoice  # reverses `voided`


def accept_return(delivery, when):
    ret = Return.objects.create(
        entity_id=delivery.entity_id, delivery=delivery, reason="wrong number", status="accepted",
        requested_at=when, decided_at=when, decided_by=ACTOR,
    )  # fmt: skip
    summarise([delivery])
    return ret


@pytest.fixture
def history(db) -> History:
    entity = make_entity(
        slug="nordlicht", legal_name="Nordlicht Leads GmbH", address_line1="Jungfernstieg 1", postal_code="20354",
        city="Hamburg", tax_id="DE811223345", email="billing@nordlicht.example", phone="+49 40 555 0100",
        iban="DE89370400440532013000", bic="COBADEFFXXX", currency="EUR", timezone="Europe/Berlin", locale="de_DE",
        invoice_prefix="NL-", credit_note_prefix="NL-GS-", default_tax_rate_bp=1900,
        invoice_footer="Nordlicht Leads GmbH · Amtsgericht Hamburg HRB 123456", logo_sha256=asset_store(LOGO, "image/svg+xml"),
    )  # fmt: skip
    domestic = make_partner(entity, code="elbe-versicherung", name="Elbe Versicherung AG", tax_id="DE665412091")
    french = make_partner(
        entity, code="paris-assur", name="Paris Assurances SA", address_line1="12 rue de la Paix",
        postal_code="75002", city="Paris", country="FR", tax_id="FR40303265045", tax_rate_bp=0,
    )  # fmt: skip
    american = make_partner(
        entity, code="atlas-life", name="Atlas Life Inc.", address_line1="191 Commerce Street", postal_code="78701",
        city="Austin", country="US", tax_id="", peppol_id="0060:123456789", tax_rate_bp=0,
    )  # fmt: skip
    prepay = make_partner(entity, code="vorkasse", name="Vorkasse KG", tax_id="DE300000002", billing_mode="prepay")
    for p in (domestic, french, american, prepay):
        make_plan(p, "graduated", {"tiers": TIERS_2_150_1})
    jan, feb = periods.month(2026, 1, "Europe/Berlin"), periods.month(2026, 2, "Europe/Berlin")
    jan_2 = datetime(2026, 1, 2, 9, tzinfo=UTC)
    leads = make_deliveries(domestic, 130, jan_2)
    make_deliveries(french, 40, jan_2)
    make_deliveries(american, 25, jan_2)
    make_deliveries(prepay, 20, jan_2)
    topup_record(actor=ACTOR, partner=prepay, amount_minor=10_000, occurred_at=jan_2 - timedelta(days=1))
    invoice_run_issue(actor=ACTOR, entity=entity, period=jan, issue_date=date(2026, 2, 1))
    accept_return(leads[0], datetime(2026, 2, 3, tzinfo=UTC))  # billed 2.00
    accept_return(leads[120], datetime(2026, 2, 3, tzinfo=UTC))  # billed 1.50
    make_deliveries(domestic, 12, datetime(2026, 2, 4, tzinfo=UTC))
    invoice_run_issue(actor=ACTOR, entity=entity, period=feb, issue_date=date(2026, 3, 1))
    by = {(i.partner.code, i.period_key): i for i in Invoice.objects.filter(kind__in=["invoice", "receipt"])}
    voided = by[("atlas-life", "2026-01")]
    credit_note = invoice_void(
        actor=ACTOR, invoice=voided, reason="billed to the wrong company", issue_date=date(2026, 2, 10)
    )
    voided.refresh_from_db()
    return History(
        entity=entity,
        domestic=by[("elbe-versicherung", "2026-01")],
        february=by[("elbe-versicherung", "2026-02")],
        reverse_charge=by[("paris-assur", "2026-01")],
        export=voided,
        receipt=by[("vorkasse", "2026-01")],
        voided=voided,
        credit_note=credit_note,
    )
