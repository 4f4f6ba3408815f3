"""The supplier's own XML invoice: parsed by a hardened lxml parser first, so no encoding hides a DTD."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leadbill.selfbilling.models import SupplierInvoice
from tests.payouts.conftest import compute, ready, supply
from tests.portal.test_self_billing import portal_user

pytestmark = pytest.mark.django_db

REFUSED = b"may not declare a DOCTYPE or entities"


def laughs() -> str:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return (f'<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE Invoice [<!ENTITY lol0 "lol">{entities}]>\n'
            "<Invoice>&lol9;</Invoice>")  # fmt: skip


@pytest.fixture
def owner(world):
    return portal_user(world.supplier, "owner@leadgarden.example", main=True)


@pytest.fixture
def payout(world):
    supply(world.supplier, world.buyer, 1, datetime(2026, 10, 30, tzinfo=UTC))
    return ready(compute(world))


def upload(owner, payout, name: str, content: bytes):
    return owner.post(f"/portal/payouts/{payout.pk}/", {"invoice": SimpleUploadedFile(name, content)})


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8"])
def test_billion_laughs_in_any_encoding_is_refused_quickly(owner, payout, encoding):
    text = laughs() if encoding.startswith("utf-16") else laughs().replace("UTF-16", "UTF-8")
    started = time.monotonic()
    response = upload(owner, payout, "RE-1.xml", text.encode(encoding))
    assert time.monotonic() - started < 5
    assert response.status_code == 400 and REFUSED in response.content
    assert not SupplierInvoice.objects.filter(payout=payout).exists()


def test_an_external_dtd_in_utf16_is_refused(owner, payout):
    xml = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE Invoice SYSTEM "http://203.0.113.9/x.dtd"><Invoice/>'
    response = upload(owner, payout, "RE-1.xml", xml.encode("utf-16"))
    assert response.status_code == 400 and REFUSED in response.content


def test_an_undeclared_entity_is_not_well_formed(owner, payout):
    response = upload(owner, payout, "RE-1.xml", "<Invoice>&x;</Invoice>".encode("utf-16"))
    assert response.status_code == 400 and b"not well-formed XML" in response.content


def test_a_plain_utf16_invoice_is_taken(owner, payout):
    xml = '<?xml version="1.0" encoding="UTF-16"?><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>RE-7 &amp; co</ID></Invoice>'
    response = upload(owner, payout, "RE-7.xml", xml.encode("utf-16"))
    assert response.status_code == 302
    assert SupplierInvoice.objects.get(payout=payout).media_type == "application/xml"
