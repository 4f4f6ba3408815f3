"""Throttling counts the account Django signs in to, not the text typed; password resets are throttled too."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from leadbill.web import throttle
from leadbill.web.models import LoginFailure
from tests.webworld import PASSWORD, STAFF, Site

ADMIN = STAFF["admin"]  # admin@leadco.test
# Spellings Django's sign-in form (NFKC, stripped) turns into ADMIN, or that differ from it only in case.
LOOK_ALIKES = [
    "ａdmin@leadco.test",  # fullwidth a
    "ａｄｍｉｎ＠ｌｅａｄｃｏ．ｔｅｓｔ",  # fullwidth throughout
    "ＡＤＭＩＮ@leadco.test",  # fullwidth capitals
    "Admin@LeadCo.test",
    " admin@leadco.test ",
    "admin@leadco.test",
]


def sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def reset(client: Client, email: str):
    return client.post("/accounts/password/reset/", {"email": email})


def test_the_account_key_is_the_name_django_signs_in_with_case_folded():
    assert {throttle.account_key(name) for name in LOOK_ALIKES} == {ADMIN}
    assert throttle.account_key("straße@x.test") == throttle.account_key("STRASSE@X.TEST")


def test_a_look_alike_spelling_reaches_the_account(site: Site):
    """Why the count must be normalised: Django signs 'ａdmin@…' in as admin@…."""
    assert sign_in(Client(), "ａdmin@leadco.test", PASSWORD).status_code == 302


def test_failures_with_look_alike_spellings_lock_the_account_for_the_right_password(site: Site, settings):
    assert settings.LOGIN_FAILURES_PER_ACCOUNT == 5
    client = Client()
    for spelling in LOOK_ALIKES[:5]:
        assert sign_in(client, spelling, "wrong-password").status_code == 200
    assert set(LoginFailure.objects.values_list("username", flat=True)) == {ADMIN}
    for spelling in LOOK_ALIKES:  # no spelling of the account gets a fresh count, the plain one included
        blocked = sign_in(Client(REMOTE_ADDR="10.0.0.7"), spelling, PASSWORD)
        assert blocked.status_code == 429, spelling
        assert "Too many failed sign-ins" in blocked.content.decode()
    assert sign_in(Client(), STAFF["finance"], PASSWORD).status_code == 302  # other accounts are not locked


def test_password_reset_requests_are_throttled_per_account(site: Site, settings):
    settings.PASSWORD_RESETS_PER_ACCOUNT = 3
    spellings = [STAFF["readonly"], STAFF["readonly"].upper(), " Readonly@leadco.test"]
    for n, spelling in enumerate(spellings, start=1):
        response = reset(Client(REMOTE_ADDR=f"10.0.1.{n}"), spelling)
        assert response.status_code == 302 and response.url == "/accounts/password/reset/sent/"
        assert len(mail.outbox) == n
    for n in range(3):  # from anywhere, in any spelling: the same answer, and no more emails
        response = reset(Client(REMOTE_ADDR=f"10.0.2.{n}"), spellings[n])
        assert response.status_code == 302 and response.url == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 3
    assert reset(Client(REMOTE_ADDR="10.0.3.1"), STAFF["finance"]).status_code == 302
    assert len(mail.outbox) == 4 and mail.outbox[-1].to == [STAFF["finance"]]  # other accounts still may


def test_password_reset_requests_are_throttled_per_address(site: Site, settings):
    settings.PASSWORD_RESETS_PER_ADDRESS = 2
    client = Client(REMOTE_ADDR="10.0.4.1")
    reset(client, "nobody@leadco.test")
    reset(client, STAFF["admin"])
    assert len(mail.outbox) == 1
    assert reset(client, STAFF["finance"]).url == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    reset(Client(REMOTE_ADDR="10.0.4.2"), STAFF["finance"])
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("throttled", [False, True])
def test_the_reset_answer_does_not_tell_whether_the_account_exists(site: Site, settings, throttled: bool):
    settings.PASSWORD_RESETS_PER_ACCOUNT = 1
    answers = []
    for email in (STAFF["admin"], "nobody@leadco.test"):
        if throttled:
            reset(Client(REMOTE_ADDR="10.0.5.1"), email)
        response = reset(Client(REMOTE_ADDR="10.0.5.2"), email)
        answers.append((response.status_code, response.url, response.cookies.keys()))
    assert answers[0] == answers[1]
    # Unknown addresses count like known ones, so the throttle itself tells nothing either.
    assert LoginFailure.objects.filter(kind=throttle.PASSWORD_RESET, username="nobody@leadco.test").count() == 1


def test_reset_requests_and_failed_sign_ins_are_counted_apart(site: Site, settings):
    settings.PASSWORD_RESETS_PER_ACCOUNT = 1
    for _ in range(3):
        reset(Client(), ADMIN)
    sign_in(Client(), ADMIN, "wrong-password")
    assert sign_in(Client(), ADMIN, PASSWORD).status_code == 302  # resets do not lock sign-in
    assert LoginFailure.objects.filter(kind=throttle.PASSWORD_RESET).count() == 1  # the sign-in kept them
    assert not LoginFailure.objects.filter(kind=throttle.SIGN_IN).exists()
