"""A wrong tax id, IBAN, BIC or Peppol id is refused where it enters, naming the field.

Review finding: tax ids were checked only by length and IBANs by a hand-written mod-97, so an
e-invoice could carry a VAT number its receiver's access point rejects.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leadbill.cli.main import main
from leadbill.partners.models import Partner
from tests.webworld import STAFF, Site


def test_a_console_partner_edit_with_a_wrong_vat_check_digit_is_refused_naming_the_field(site: Site):
    finance = site.login(STAFF["finance"])
    form = {"code": "acme", "name": "Acme Insurance", "billing_mode": "credit", "active": "on", "is_buyer": "on",
            "returns_allowed": "on", "country": "DE", "tax_id": "DE123456789"}  # fmt: skip
    response = finance.post("/console/leadco/partners/acme/edit/", form)
    assert response.status_code == 200
    assert response.context["form"].errors["tax_id"] == [
        "not a valid DE VAT number (check digit does not match): 'DE123456789'"
    ]
    assert Partner.objects.get(pk=site.acme.pk).tax_id == site.acme.tax_id


@pytest.mark.django_db
def test_an_api_partner_put_with_wrong_identifiers_is_422_at_each_pointer(world):
    response = world.full.put(
        "/partners/acme", {"tax_id": "DE123456789", "peppol_id": "0088:5790000435967", "address": {"country": "DE"}}
    )
    assert response.status_code == 422, response.body
    errors = {e["pointer"]: e["message"] for e in response.body["errors"]}
    assert errors == {
        "/tax_id": "not a valid DE VAT number (check digit does not match): 'DE123456789'",
        "/peppol_id": "0088:5790000435967 is not a GLN (13 digits)",
    }
    acme = Partner.objects.get(pk=world.acme.pk)
    assert (acme.tax_id, acme.peppol_id) == (world.acme.tax_id, world.acme.peppol_id)


@pytest.mark.django_db
def test_an_api_partner_put_with_a_valid_vat_number_stores_it_compact(world):
    response = world.full.put("/partners/acme", {"tax_id": "de 136 695 976", "address": {"country": "DE"}})
    assert response.status_code == 200, response.body
    assert Partner.objects.get(pk=world.acme.pk).tax_id == "DE136695976"


@pytest.mark.django_db
def test_a_set_up_file_with_a_wrong_iban_bic_and_tax_id_names_each_path(tmp_path: Path, capsys):
    path = tmp_path / "setup.yaml"
    path.write_text(
        "version: 1\nentities:\n  - slug: unit\n    legal_name: Unit GmbH\n    address: {country: DE}\n"
        "    currency: EUR\n    timezone: Europe/Berlin\n    invoice_prefix: U-\n"
        "    tax_id: DE136695976\n    iban: DE89 3704 0044 0532 0130 01\n    bic: DEUTXXFF\n"
        "    lead_types: [{code: auto, name: Auto}]\n    partners:\n      - code: buyer\n"
        "        name: Buyer\n        address: {country: FR}\n        tax_id: FR40303265046\n"
        "        plans: [{model: flat, price: 1, from: 2026-01-01}]\n"
    )
    assert main(["load", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "entities[0].iban: not a valid IBAN (Invalid checksum digits)" in err
    assert "entities[0].bic: not a valid BIC (Invalid country code 'XX'), e.g. DEUTDEFF" in err
    assert "entities[0].partners[0].tax_id: not a valid FR VAT number (check digit does not match)" in err
    assert "entities[0].tax_id" not in err
