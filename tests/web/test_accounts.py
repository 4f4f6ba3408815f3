"""Signing in, throttling, invitations, password reset, staff roles and logo uploads."""

from __future__ import annotations

import html
import io
import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from PIL import Image

from leadbill.domain.errors import DomainError, StateError
from leadbill.entities.models import Entity
from leadbill.web.models import LoginFailure, StaffMembership
from leadbill.web.services import partner_user_invite, staff_add, staff_remove, staff_role_set
from tests.webworld import ACME_USER, PASSWORD, STAFF, Site


def sign_in(client: Client, email: str, password: str, **extra):
    return client.post("/accounts/login/", {"username": email, "password": password}, **extra)


def test_staff_sign_in_and_land_on_their_entity(site: Site):
    client = Client()
    response = sign_in(client, STAFF["finance"], PASSWORD)
    assert response.status_code == 302
    assert client.get("/").url == "/console/leadco/"


def test_partner_users_land_in_the_portal(site: Site):
    client = Client()
    sign_in(client, ACME_USER, PASSWORD)
    assert client.get("/").url == "/portal/"


def test_repeated_failures_pause_sign_in_even_with_the_right_password(site: Site, settings):
    client = Client()
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        assert sign_in(client, STAFF["admin"], "wrong-password").status_code == 200
    blocked = sign_in(client, STAFF["admin"], PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.content.decode()
    assert "_auth_user_id" not in client.session
    other = Client()  # another account from the same address still may sign in
    assert sign_in(other, STAFF["finance"], PASSWORD).status_code == 302


def test_failures_from_one_address_across_accounts_are_throttled(site: Site, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    client = Client()
    for n in range(3):
        sign_in(client, f"guess{n}@x.test", "nope")
    assert sign_in(client, STAFF["finance"], PASSWORD).status_code == 429
    assert sign_in(Client(REMOTE_ADDR="10.0.0.9"), STAFF["finance"], PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_accounts_failures(site: Site):
    client = Client()
    sign_in(client, STAFF["admin"], "wrong")
    sign_in(client, STAFF["admin"], PASSWORD)
    assert not LoginFailure.objects.filter(username=STAFF["admin"]).exists()


def test_sign_out_needs_a_post(site: Site):
    client = site.login(STAFF["admin"])
    client.get("/accounts/logout/")
    assert "_auth_user_id" in client.session
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


def test_forms_are_csrf_protected(site: Site):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username=STAFF["finance"]))
    response = client.post(f"/console/leadco/invoices/{site.acme_invoice.number}/payments/", {"amount": "1.00"})
    assert response.status_code == 403


def test_an_invited_partner_user_chooses_a_password_through_the_emailed_link(
    site: Site, django_capture_on_commit_callbacks
):
    finance = site.login(STAFF["finance"])
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/console/leadco/partners/acme/users/", {"name": "Cy Acme", "email": "cy@acme.test"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["cy@acme.test"]
    link = re.search(r"https?://\S+/accounts/invitation/\S+/", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[-1]
    client = Client()
    form_page = client.get(path, follow=True)
    assert "Choose a password for" in html.unescape(form_page.content.decode())
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "gravel-sunset-77", "new_password2": "gravel-sunset-77"}
    )
    assert response.status_code == 302
    assert client.get("/").url == "/portal/"
    assert client.get(path, follow=True).context["validlink"] is False  # the link works once


def test_password_reset_by_email(site: Site):
    client = Client()
    client.post("/accounts/password/reset/", {"email": STAFF["readonly"]})
    assert len(mail.outbox) == 1
    path = re.search(r"/accounts/password/reset/\S+/\S+/", mail.outbox[0].body).group(0)
    form = client.get(path, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": "meadow-copper-19", "new_password2": "meadow-copper-19"})
    assert sign_in(Client(), STAFF["readonly"], "meadow-copper-19").status_code == 302


def test_a_staff_email_cannot_become_a_portal_login(site: Site):
    with pytest.raises(DomainError, match="already has a Leadbill login"):
        partner_user_invite(actor="t", partner=site.acme, email=STAFF["finance"], name="x")
    with pytest.raises(DomainError, match="partner's portal login"):
        staff_add(actor="t", entity=site.entity, email=ACME_USER, name="x", role="admin")


def test_the_last_admin_cannot_be_removed_or_demoted(site: Site):
    admin = StaffMembership.objects.get(user__username=STAFF["admin"], entity=site.entity)
    with pytest.raises(StateError, match="last admin"):
        staff_role_set(actor="t", membership=admin, role="finance")
    with pytest.raises(StateError, match="last admin"):
        staff_remove(actor="t", membership=admin)
    finance = StaffMembership.objects.get(user__username=STAFF["finance"], entity=site.entity)
    staff_role_set(actor="t", membership=finance, role="admin")
    staff_remove(actor="t", membership=admin)
    assert not StaffMembership.objects.filter(pk=admin.pk).exists()


def png(width: int = 40, height: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (42, 85, 201)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(client: Client, name: str, content: bytes):
    file = io.BytesIO(content)
    file.name = name
    return client.post(
        "/console/leadco/settings/documents/", {"logo": file, "footer": "Registered in Hamburg"}, follow=True
    )


def test_a_real_png_logo_is_accepted(site: Site):
    response = upload(site.login(STAFF["admin"]), "logo.png", png())
    assert "Saved; new documents use it." in response.content.decode()
    entity = Entity.objects.get(pk=site.entity.pk)
    assert entity.logo_sha256 and entity.invoice_footer == "Registered in Hamburg"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("fake.png", b"\x89PNG\r\n\x1a\n" + b"not really an image" * 10, "is not a readable image"),
        ("truncated.png", png()[:60], "is not a readable image"),
        ("huge.png", png(5000, 10), "a logo may be at most 4096 a side"),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * 1_000_100, "a logo may have at most 1,000,000"),
        (
            "script.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "may not contain scripts",
        ),
        ("handler.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>', "may not contain scripts"),
        ("notes.txt", b"hello", "is not a PNG, JPEG or SVG image"),
    ],
)
def test_uploads_that_are_not_real_images_are_refused(site: Site, name: str, content: bytes, message: str):
    response = upload(site.login(STAFF["admin"]), name, content)
    assert message in html.unescape(response.content.decode())
    assert Entity.objects.get(pk=site.entity.pk).logo_sha256 == ""
