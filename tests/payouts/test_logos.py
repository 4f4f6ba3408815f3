"""A supplier's logo through the real doors: the set-up file, the portal upload and the self-invoice download."""

from __future__ import annotations

import hashlib
import time

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leadbill.cli.main import main
from leadbill.documents.models import Asset
from leadbill.entities.models import Entity
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SellerProfile
from leadbill.web.models import PartnerUser
from tests.documents.test_logos import BLUR, MISSING_IMAGE, RELATIVE_USE
from tests.loader.helpers import minimal
from tests.payouts.conftest import ACTOR, COMPLETE, LOGO, compute, opt_in, ready

pytestmark = pytest.mark.django_db


def load_file(tmp_path, logo_line: str) -> int:
    path = tmp_path / "setup.yaml"
    path.write_text(minimal("{model: flat, price: 1, from: 2026-01-01}", entity_extra=f"    logo: {logo_line}"))
    return main(["load", str(path)])


def test_set_up_file_naming_dev_zero_is_refused_at_once_naming_the_field(tmp_path, capsys):
    started = time.perf_counter()
    assert load_file(tmp_path, "/dev/zero") == 2
    assert time.perf_counter() - started < 5  # before: read whole (memory exhausted), then the 1 MB check
    err = capsys.readouterr().err
    assert "entities[0].logo: zero is not a regular file" in err
    assert not Entity.objects.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (BLUR, "entities[0].logo: logo.svg: an SVG logo may not contain <filter>"),
        (MISSING_IMAGE, "entities[0].logo: logo.svg: an SVG logo may not contain <image>"),
        (RELATIVE_USE, "entities[0].logo: logo.svg: <use xlink:href="),
    ],
)
def test_set_up_file_with_a_hostile_svg_logo_is_refused_naming_the_field(tmp_path, capsys, content, expected):
    (tmp_path / "logo.svg").write_bytes(content)
    started = time.perf_counter()
    assert load_file(tmp_path, "logo.svg") == 2
    assert time.perf_counter() - started < 5  # a whole CLI run; the check itself is < 1 ms (benchmarks)
    assert expected in capsys.readouterr().err
    assert not Asset.objects.exists()


def test_set_up_file_with_a_plain_svg_logo_loads(tmp_path):
    (tmp_path / "logo.svg").write_bytes(LOGO)
    assert load_file(tmp_path, "logo.svg") == 0
    assert Entity.objects.get(slug="unit").logo_sha256 == hashlib.sha256(LOGO).hexdigest()


def supplier_client(world) -> Client:
    user = User.objects.create_user(username="owner@leadgarden.example", password="orchard-lantern-42")
    PartnerUser.objects.create(user=user, partner=world.supplier, is_main_contact=True, invited_by=ACTOR)
    client = Client(REMOTE_ADDR="198.51.100.23")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("content", "expected"),
    [(BLUR, "may not contain &lt;filter&gt;"), (MISSING_IMAGE, "may not contain &lt;image&gt;")],
)
def test_portal_upload_of_a_hostile_svg_is_refused_on_the_form(world, content, expected):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    client = supplier_client(world)
    form = {**COMPLETE, "tax_rate": "19", "number_prefix": "LG-", "footer": "Lead Garden GmbH"}
    response = client.post(
        "/portal/account/self-billing/",
        {**form, "action": "save", "logo": SimpleUploadedFile("logo.svg", content, "image/svg+xml")},
    )
    assert response.status_code == 400 and expected.encode() in response.content
    assert not SellerProfile.objects.filter(partner=world.supplier).exclude(logo_sha256="").exists()


def test_a_self_invoice_whose_stored_logo_is_hostile_answers_a_message_not_a_500_and_quickly(world):
    """A logo stored before the check (straight into the table): the download says why, every time, fast."""
    opt_in(world)
    (doc,) = ready(compute(world)).documents.all()
    sha = hashlib.sha256(BLUR).hexdigest()
    Asset.objects.create(sha256=sha, media_type="image/svg+xml", content=BLUR)
    doc.seller = {**doc.seller, "logo_sha256": sha}
    doc.save(update_fields=["seller"])
    client = supplier_client(world)
    for _ in range(2):  # never archived, so asked again: answered again, as fast
        started = time.perf_counter()
        response = client.get(f"/portal/self-billed/{doc.number}/pdf")
        assert time.perf_counter() - started < 5  # before: the blur held the worker ~30 s
        assert response.status_code == 409
        assert b"the seller's logo: an SVG logo may not contain <filter>" in response.content


def test_the_self_invoice_still_prints_a_plain_logo(world):
    opt_in(world)
    (doc,) = ready(compute(world)).documents.all()
    response = supplier_client(world).get(f"/portal/self-billed/{doc.number}/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
