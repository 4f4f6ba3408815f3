"""Who may open which page: the one place the console and the portal check roles and scope.

Console pages live under /console/<entity>/: a user who is not a member of that entity
gets 404 (the entity's existence is not revealed), a member whose role is too weak for
the action gets 403. `staff_memberships` is the one answer to "which entities may this user
open": /console/ itself lists them (or opens the only one). Portal pages serve the signed-in
partner user's own partner only; every object they look up is filtered by that partner, so
another partner's object is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from leadbill.web.models import PartnerUser, Role, StaffMembership

View = Callable[..., HttpResponse]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def actor_of(request: HttpRequest) -> str:
    """The audit trail's name for the signed-in person."""
    return f"user:{request.user.get_username()}"


def staff_memberships(user: Any) -> QuerySet[StaffMembership]:
    """The entities `user` may open in the console: their memberships, each with its entity."""
    return StaffMembership.objects.select_related("entity").filter(user=user, user__is_active=True)


def is_partner_user(user: Any) -> bool:
    """A portal login (a partner's user): never staff, so the console is not theirs."""
    return PartnerUser.objects.filter(user=user).exists()


def console_view(*, read: str = Role.READONLY, write: str = Role.FINANCE) -> Callable[[View], View]:
    """A console page of one entity: reading needs `read`, a POST needs `write`."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, entity: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = staff_memberships(request.user).filter(entity__slug=entity).first()
            if membership is None:
                raise Http404("no such entity")
            needed = read if request.method in SAFE_METHODS else write
            if not membership.can(needed):
                raise PermissionDenied(f"your role ({membership.get_role_display()}) cannot do this")
            request.entity = membership.entity  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def portal_view(view: View) -> View:
    """A portal page: the signed-in partner user's own partner, and nothing else."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        access = (
            PartnerUser.objects.select_related("partner", "partner__entity")
            .filter(user=request.user, partner__is_active=True)
            .first()
        )
        if access is None:
            raise Http404("the portal is for partner users")
        request.partner = access.partner  # type: ignore[attr-defined]
        request.partner_user = access  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
