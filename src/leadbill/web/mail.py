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

from leadbill.entities.models import Entity
from leadbill.mailing.sender import entity_sender


def invitation_link(user: User, base_url: str = "") -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("web:invitation", kwargs={"uidb64": uid, "token": token})
    return (base_url or settings.LEADBILL_BASE_URL).rstrip("/") + path


def send_invitation(user: User, *, base_url: str, entity: Entity, place: str = "") -> None:
    """Invite `user` to `entity`'s console, or (with `place`, a partner's name) to its partner portal.

    The mail is from the business and says its name (`mailing.sender`); the entity's own
    invitation text, when it has one, is the welcome paragraph.
    """
    from leadbill.mailing.services import mail_settings_of

    business = entity.legal_name
    context = {"user": user, "link": invitation_link(user, base_url), "business": business, "place": place,
               "welcome": entity.invitation_text, "days": settings.PASSWORD_RESET_TIMEOUT // 86400}  # fmt: skip
    send_mail(
        subject=f"Your access to {business}" + (f" for {place}" if place else ""),
        message=render_to_string("web/email/invitation.txt", context),
        from_email=entity_sender(entity, mail_settings_of(entity).sender),
        recipient_list=[user.email],
    )
