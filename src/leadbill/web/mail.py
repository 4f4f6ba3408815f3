"""Emails about access: invitations (a link to choose a password)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


def invitation_link(user: User, base_url: str = "") -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("web:invitation", kwargs={"uidb64": uid, "token": token})
    return (base_url or settings.LEADBILL_BASE_URL).rstrip("/") + path


def send_invitation(user: User, *, base_url: str, place: str) -> None:
    context = {"user": user, "link": invitation_link(user, base_url), "place": place,
               "days": settings.PASSWORD_RESET_TIMEOUT // 86400}  # fmt: skip
    send_mail(
        subject=f"Your Leadbill access for {place}",
        message=render_to_string("web/email/invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
