"""Writes about people: invitations, roles, passwords set by staff tools, access withdrawn.

Every write is one transaction with one audit row; the invitation email is sent after
commit, so a rolled-back invitation never reaches anyone.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from leadbill.audit.services import audit_record
from leadbill.domain.errors import DomainError, StateError
from leadbill.entities.models import Entity
from leadbill.partners.models import Partner
from leadbill.web import mail
from leadbill.web.models import PartnerUser, Role, StaffMembership


def _email(value: str) -> str:
    email = (value or "").strip().lower()
    if not email:
        raise DomainError("give an email address", field="email")
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(f"{value!r} is not an email address", field="email") from None
    return email


def _new_user(email: str, name: str, password: str | None) -> User:
    user = User(username=email, email=email, first_name=name.strip()[:150])
    if password is None:
        user.set_unusable_password()  # the invitation link sets it
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages), field="password") from None
        user.set_password(password)
    user.save()
    return user


def staff_add(
    *, actor: str, entity: Entity, email: str, name: str, role: str, password: str | None = None, base_url: str = ""
) -> StaffMembership:
    """Give a person a role in an entity's console; new people get an invitation (or `password`)."""
    email = _email(email)
    if role not in Role.values:
        raise DomainError(f"unknown role {role!r} (one of: {', '.join(Role.values)})", field="role")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=email).first()
        invite = False
        if user is None:
            user = _new_user(email, name, password)
            invite = password is None
        elif PartnerUser.objects.filter(user=user).exists():
            raise DomainError(f"{email} is a partner's portal login; staff need their own", field="email")
        if StaffMembership.objects.filter(user=user, entity=entity).exists():
            raise StateError(f"{email} is already a member of {entity.slug}")
        membership = StaffMembership.objects.create(user=user, entity=entity, role=role)
        audit_record(actor=actor, action="staff.added", obj=membership, entity=entity, email=email, role=role)
        if invite:
            transaction.on_commit(lambda: mail.send_invitation(user, base_url=base_url, entity=entity))
    return membership


def staff_role_set(*, actor: str, membership: StaffMembership, role: str) -> StaffMembership:
    if role not in Role.values:
        raise DomainError(f"unknown role {role!r}", field="role")
    with transaction.atomic():
        membership = StaffMembership.objects.select_for_update().select_related("entity", "user").get(pk=membership.pk)
        _keep_an_admin(membership, leaving=role != Role.ADMIN)
        before, membership.role = membership.role, role
        membership.save(update_fields=["role"])
        audit_record(actor=actor, action="staff.role_changed", obj=membership, entity=membership.entity,
                     email=membership.user.email, before=before, after=role)  # fmt: skip
    return membership


def staff_remove(*, actor: str, membership: StaffMembership) -> None:
    with transaction.atomic():
        membership = StaffMembership.objects.select_for_update().select_related("entity", "user").get(pk=membership.pk)
        _keep_an_admin(membership, leaving=True)
        audit_record(actor=actor, action="staff.removed", obj=membership, entity=membership.entity,
                     email=membership.user.email, role=membership.role)  # fmt: skip
        membership.delete()


def _keep_an_admin(membership: StaffMembership, *, leaving: bool) -> None:
    if leaving and membership.role == Role.ADMIN:
        others = StaffMembership.objects.filter(entity=membership.entity, role=Role.ADMIN).exclude(pk=membership.pk)
        if not others.exists():
            raise StateError(
                f"{membership.user.email} is the last admin of {membership.entity.slug}; name another first"
            )


def partner_user_invite(
    *,
    actor: str,
    partner: Partner,
    email: str,
    name: str,
    main_contact: bool = False,
    password: str | None = None,
    base_url: str = "",
) -> PartnerUser:
    """A portal login for one partner's person; invited by email unless a password is given (tools, demo)."""
    email = _email(email)
    with transaction.atomic():
        if User.objects.filter(username=email).exists():
            raise DomainError(
                f"{email} already has a Leadbill login; a portal login needs its own address", field="email"
            )
        user = _new_user(email, name, password)
        access = PartnerUser.objects.create(user=user, partner=partner, is_main_contact=main_contact, invited_by=actor)
        audit_record(actor=actor, action="partner_user.invited", obj=access, entity=partner.entity,
                     partner=partner.code, email=email, main_contact=main_contact)  # fmt: skip
        if password is None:
            transaction.on_commit(
                lambda: mail.send_invitation(user, base_url=base_url, entity=partner.entity, place=partner.name)
            )
    return access


def partner_user_remove(*, actor: str, access: PartnerUser) -> None:
    """Withdraw a portal login: the user can no longer sign in; the audit trail keeps who it was."""
    with transaction.atomic():
        access = PartnerUser.objects.select_related("user", "partner__entity").get(pk=access.pk)
        user = access.user
        audit_record(actor=actor, action="partner_user.removed", obj=access, entity=access.partner.entity,
                     partner=access.partner.code, email=user.email)  # fmt: skip
        access.delete()
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["is_active", "password"])
