"""/console/ itself: the signed-in staff member's entity, or a choice of their entities."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from leadbill.web.access import is_partner_user, staff_memberships

NO_ENTITY = "Your login has no access to any business yet. Ask an admin of the business to add you."


@require_safe
def start(request: HttpRequest) -> HttpResponse:
    """One entity: its dashboard; several: a list to choose from; none: 403 (partner users go to the portal)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    memberships = list(staff_memberships(request.user).order_by("entity__legal_name", "entity__slug"))
    if len(memberships) == 1:
        return redirect("console:dashboard", entity=memberships[0].entity.slug)
    if not memberships and is_partner_user(request.user):
        return redirect("portal:invoices")
    context = {"memberships": memberships, "no_entity": NO_ENTITY}
    return render(request, "console/start.html", context, status=200 if memberships else 403)
