"""`leadbill users`: the first admin of an entity, by invitation or with a typed password."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.core import mail

from leadbill.cli.main import main
from leadbill.web.models import StaffMembership
from tests.factories import make_entity


@pytest.fixture
def entity(db):
    return make_entity(slug="leadco")


def test_users_add_with_a_password_read_from_stdin(entity, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("gravel-sunset-77\n"))
    assert main(["users", "add", "--email", "Ana@Leadco.test", "--role", "admin", "--password"]) == 0
    assert "ana@leadco.test is admin in leadco and can sign in now" in capsys.readouterr().out
    assert StaffMembership.objects.get(user__username="ana@leadco.test").role == "admin"
    assert authenticate(username="ana@leadco.test", password="gravel-sunset-77") is not None


def test_users_add_without_a_password_sends_an_invitation(entity, django_capture_on_commit_callbacks, capsys):
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            main(
                ["users", "add", "--email", "bo@leadco.test", "--role", "finance", "--base-url", "https://bill.example"]
            )
            == 0
        )
    assert (
        mail.outbox[0].to == ["bo@leadco.test"] and "https://bill.example/accounts/invitation/" in mail.outbox[0].body
    )


def test_users_add_refuses_a_weak_password_naming_it(entity, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("12345\n"))
    assert main(["users", "add", "--email", "cy@leadco.test", "--role", "readonly", "--password"]) == 2
    assert "password:" in capsys.readouterr().err
    assert not StaffMembership.objects.exists()
