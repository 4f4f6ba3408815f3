"""Admin pages: staff and their roles, the entity's document settings, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from leadbill.audit.models import AuditEvent
from leadbill.console.forms import StaffForm
from leadbill.console.lookups import cursor_read, cursor_text, entity_of, perform
from leadbill.documents.logos import logo_check
from leadbill.domain.errors import DomainError
from leadbill.entities.models import Entity
from leadbill.entities.services import entity_documents_set
from leadbill.web.access import actor_of, console_view
from leadbill.web.models import Role, StaffMembership
from leadbill.web.services import staff_add, staff_remove, staff_role_set

ADMIN = Role.ADMIN
AUDIT_PAGE = 100


@console_view()
def audit(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    action = request.GET.get("action", "").strip()
    actor = request.GET.get("actor", "").strip()
    rows = AuditEvent.objects.filter(entity=entity)
    if action:
        rows = rows.filter(action__startswith=action)
    if actor:
        rows = rows.filter(actor=actor)
    cursor = cursor_read(request.GET.get("after"))
    if cursor is not None:
        rows = rows.filter(pk__lt=cursor[1])
    page = list(rows.order_by("-pk")[: AUDIT_PAGE + 1])
    next_url = None
    if len(page) > AUDIT_PAGE:
        page = page[:AUDIT_PAGE]
        query = {k: v for k, v in (("action", action), ("actor", actor)) if v}
        next_url = "?" + urlencode({**query, "after": cursor_text(None, page[-1].pk)})
    return render(request, "console/audit.html", {"rows": page, "action": action, "actor": actor,
                                                  "next_url": next_url, "nav": "audit"})  # fmt: skip


@console_view(read=ADMIN, write=ADMIN)
def users(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    memberships = StaffMembership.objects.filter(entity=entity).select_related("user").order_by("user__email")
    return render(request, "console/users.html", {"memberships": memberships, "roles": Role.choices,
                                                  "staff_form": StaffForm(), "nav": "users"})  # fmt: skip


def _to_users(entity: Entity) -> Callable[[], HttpResponse]:
    return lambda: redirect("console:users", entity=entity.slug)


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def staff_new(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    form = StaffForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not invited: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("console:users", entity=entity.slug)
    data = form.cleaned_data

    def add() -> str:
        staff_add(actor=actor_of(request), entity=entity, email=data["email"], name=data["name"], role=data["role"],
                  base_url=request.build_absolute_uri("/"))  # fmt: skip
        return f"{data['email']} added as {data['role']}."

    return perform(request, add, refused="Not invited", then=_to_users(entity))


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def staff_role(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    membership = get_object_or_404(StaffMembership, entity=entity, pk=pk)
    role = request.POST.get("role", "")

    def change() -> str:
        staff_role_set(actor=actor_of(request), membership=membership, role=role)
        return f"{membership.user.email} is now {role}."

    return perform(request, change, refused="Role not changed", then=_to_users(entity))


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def staff_delete(request: HttpRequest, pk: int) -> HttpResponse:
    entity = entity_of(request)
    membership = get_object_or_404(StaffMembership, entity=entity, pk=pk)

    def remove() -> str:
        staff_remove(actor=actor_of(request), membership=membership)
        return f"{membership.user.email} removed."

    return perform(request, remove, refused="Not removed", then=_to_users(entity))


@require_POST
@console_view(read=ADMIN, write=ADMIN)
def entity_documents(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    upload = request.FILES.get("logo")
    try:
        logo = None
        if upload is not None:
            checked = logo_check(upload.read(1_000_001), upload.name or "the upload")
            logo = (checked.content, checked.media_type)
        entity_documents_set(actor=actor_of(request), entity=entity, logo=logo, footer=request.POST.get("footer", ""))
    except DomainError as exc:
        messages.error(request, f"Not saved: {exc}")
    else:
        messages.success(request, "Saved; new documents use it.")
    return redirect("console:users", entity=entity.slug)
