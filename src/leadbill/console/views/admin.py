"""Admin pages: staff and their roles, the entity's details and document settings, and the audit trail."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from leadbill.audit.models import AuditEvent
from leadbill.audit.selectors import audit_lines
from leadbill.console.forms import StaffForm
from leadbill.console.lookups import cursor_read, cursor_text, entity_of, perform
from leadbill.documents.logos import logo_check
from leadbill.domain.errors import DomainError
from leadbill.domain.regions import uses_region
from leadbill.entities.models import Entity
from leadbill.entities.services import entity_details_set, entity_documents_set
from leadbill.loader.schema import SetupFileError
from leadbill.web.access import actor_of, console_view
from leadbill.web.models import Role, StaffMembership
from leadbill.web.services import staff_add, staff_remove, staff_role_set

ADMIN = Role.ADMIN
AUDIT_PAGE = 100


@console_view()
def audit(request: HttpRequest) -> HttpResponse:
    """The audit trail, newest first, as readable lines (`audit.selectors`): names, money, before → after."""
    entity = entity_of(request)
    action = request.GET.get("action", "").strip()[:80]
    actor = request.GET.get("actor", "").strip()[:200]
    rows = AuditEvent.objects.filter(entity=entity)
    if action:
        rows = rows.filter(action__startswith=action)
    if actor:
        rows = rows.filter(actor=actor if ":" in actor else f"user:{actor}")
    cursor = cursor_read(request.GET.get("after"))
    if cursor is not None:
        rows = rows.filter(pk__lt=cursor[1])
    page = list(rows.order_by("-pk")[: AUDIT_PAGE + 1])
    next_url = None
    if len(page) > AUDIT_PAGE:
        page = page[:AUDIT_PAGE]
        query = {k: v for k, v in (("action", action), ("actor", actor)) if v}
        next_url = "?" + urlencode({**query, "after": cursor_text(None, page[-1].pk)})
    return render(request, "console/audit.html", {"rows": audit_lines(entity, page), "action": action, "actor": actor,
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


# --- the entity's own details, one form per section -------------------------------------------

# Each section's inputs are named by their set-up file path, so the loader's problems land on them.
ADDRESS_KEYS = ("line1", "line2", "postal_code", "city", "region", "country")
ACCOUNT_LABELS = {"currency": "Currency", "iban": "IBAN", "bic": "BIC", "ach_routing": "ACH routing number",
                  "ach_account": "ACH account number", "wire_routing": "Wire routing number",
                  "account_name": "Account holder", "bank_name": "Bank"}  # fmt: skip
ACCOUNT_KEYS = tuple(ACCOUNT_LABELS)
SECTIONS = {
    "address": ("Address and identity", ("address", "tax_id", "email", "phone")),
    "bank": ("How you are paid", ("iban", "bic", "payment_accounts", "remit_to")),
    "mail": ("Email and invitations", ("mail_from_name", "mail_from_address", "invitation_text")),
    "returns": ("Return reasons", ("return_reasons",)),
    "credit": ("Credit on account", ("credit_on_account",)),
}
ACCOUNT_ROWS_MAX = 10
FIELD_LABELS = {"address.line1": "Address line 1", "address.line2": "Address line 2", "address.postal_code": "Postal code",
                "address.city": "City", "address.region": "State, province or region", "address.country": "Country",
                "address": "Address", "tax_id": "Tax id", "email": "Email", "phone": "Phone", "iban": "IBAN",
                "bic": "BIC", "payment_accounts": "Accounts", "remit_to": "Remit-to address",
                "mail_from_name": "Sender name", "mail_from_address": "Sender address",
                "invitation_text": "Invitation text", "return_reasons": "Reasons",
                "credit_on_account": "Credit on account"}  # fmt: skip
_ROW = re.compile(r"(payment_accounts|return_reasons)\[(\d+)\]\.?(.*)")


def field_label(path: str) -> str:
    """A problem's set-up path as the form names it: "payment_accounts[1].iban" -> "Account 2, IBAN"."""
    row = _ROW.fullmatch(path)
    if row is None:
        return FIELD_LABELS.get(path, path)
    key, index, rest = row.group(1), int(row.group(2)) + 1, row.group(3)
    if key == "return_reasons":
        return f"Reasons, line {index}"
    return f"Account {index}" + (f", {ACCOUNT_LABELS.get(rest, rest)}" if rest else "")


def _blank_none(text: str) -> str | None:
    """A form leaves a field empty where the set-up file leaves the key out."""
    text = text.strip()
    return text or None


def _details_from_post(section: str, post: Any) -> dict[str, Any]:
    """What one section's form sent, in the set-up file's shape, for `read_entity_details`."""
    raw: dict[str, Any] = {}
    for key in SECTIONS[section][1]:
        if key == "address":
            raw["address"] = {k: _blank_none(post.get(f"address.{k}", "")) for k in ADDRESS_KEYS}
        elif key == "payment_accounts":
            accounts = []
            for i in range(ACCOUNT_ROWS_MAX):
                account = {k: v for k in ACCOUNT_KEYS if (v := _blank_none(post.get(f"payment_accounts[{i}].{k}", "")))}
                if account:
                    accounts.append(account)
            raw["payment_accounts"] = accounts
        elif key == "return_reasons":
            raw["return_reasons"] = [
                line.strip() for line in post.get("return_reasons", "").splitlines() if line.strip()
            ]
        else:
            raw[key] = _blank_none(post.get(key, ""))
    return raw


def _details_values(entity: Entity) -> dict[str, str]:
    """The entity's stored details keyed by form input name (= set-up path)."""
    values = {f"address.{k}": str(getattr(entity, "address_" + k if k.startswith("line") else k) or "")
              for k in ADDRESS_KEYS}  # fmt: skip
    for key in ("tax_id", "email", "phone", "iban", "bic", "remit_to", "mail_from_name", "mail_from_address",
                "invitation_text"):  # fmt: skip
        values[key] = str(getattr(entity, key) or "")
    for i, account in enumerate(entity.payment_accounts or []):
        for k in ACCOUNT_KEYS:
            values[f"payment_accounts[{i}].{k}"] = str(account.get(k, ""))
    values["return_reasons"] = "\n".join(entity.return_reasons or [])
    values["credit_on_account"] = entity.credit_on_account
    return values


def _account_rows(values: dict[str, str]) -> list[dict[str, Any]]:
    """The payment-account rows to show: the stored (or sent) ones and one empty row to add another."""
    used = [i for i in range(ACCOUNT_ROWS_MAX) if any(values.get(f"payment_accounts[{i}].{k}") for k in ACCOUNT_KEYS)]
    count = min(ACCOUNT_ROWS_MAX, (max(used) + 2) if used else 1)
    return [{"fields": [(label, f"payment_accounts[{i}].{k}", values.get(f"payment_accounts[{i}].{k}", ""),
                         k != "currency") for k, label in ACCOUNT_LABELS.items()],
             "empty": i not in used, "number": i + 1}
            for i in range(count)]  # fmt: skip


@console_view(read=ADMIN, write=ADMIN)
def entity_details(request: HttpRequest) -> HttpResponse:
    """The entity's address, tax id, bank and mail details, return reasons and credit on account, each
    section saved on its own.

    A save reads only its section (`entities.services.entity_details_set`, the set-up file's
    checks), so the other sections keep what they hold; a refused save shows what was typed,
    with each problem beside its field.
    """
    entity = entity_of(request)
    values = _details_values(entity)
    errors: dict[str, str] = {}
    failed = ""
    status = 200
    if request.method == "POST":
        section = request.POST.get("section", "")
        if section not in SECTIONS:
            messages.error(request, "Not saved: unknown section.")
            return redirect("console:entity_details", entity=entity.slug)
        try:
            changed = entity_details_set(actor=actor_of(request), entity=entity,
                                         details=_details_from_post(section, request.POST))  # fmt: skip
        except SetupFileError as exc:
            failed, status = section, 400
            errors = {p.path: p.message for p in exc.problems}
            sent = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "section")}
            if section == "bank":  # the rows typed replace the stored ones on the page
                values = {k: v for k, v in values.items() if not k.startswith("payment_accounts[")}
            values.update(sent)
        else:
            title = SECTIONS[section][0]
            if changed:
                messages.success(request, f"{title}: saved ({', '.join(c.replace('_', ' ') for c in changed)}).")
            else:
                messages.info(request, f"{title}: nothing changed.")
            return redirect("console:entity_details", entity=entity.slug)
    context = {"values": values, "errors": errors, "failed": failed, "accounts": _account_rows(values),
               "uses_region": uses_region(values.get("address.country", "")), "nav": "entity_details",
               "credit_modes": Entity._meta.get_field("credit_on_account").choices,
               "problems": [f"{field_label(k)}: {v}" for k, v in errors.items()]}  # fmt: skip
    return render(request, "console/entity_details.html", context, status=status)
