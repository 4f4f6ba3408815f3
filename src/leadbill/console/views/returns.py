"""The returns queue: accept or reject, one by one or in bulk, with a note."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from leadbill.console.lookups import entity_of
from leadbill.deliveries import services
from leadbill.deliveries.models import ReturnStatus
from leadbill.deliveries.selectors import returns_by_ids, returns_for_entity
from leadbill.domain.errors import DomainError
from leadbill.domain.numbers import whole_number
from leadbill.web.access import actor_of, console_view

SHOWN = 200


@console_view()
def returns(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    status = request.GET.get("status", ReturnStatus.REQUESTED)
    if status not in ReturnStatus.values:
        status = ReturnStatus.REQUESTED
    rows = returns_for_entity(entity, status=status)
    if status != ReturnStatus.REQUESTED:
        rows = rows.order_by("-decided_at", "-pk")
    page = list(rows[: SHOWN + 1])
    context = {"returns": page[:SHOWN], "more": len(page) > SHOWN, "status": status,
               "tabs": [(s.value, s.label) for s in ReturnStatus], "nav": "returns"}  # fmt: skip
    return render(request, "console/returns.html", context)


@require_POST
@console_view()
def returns_decide(request: HttpRequest) -> HttpResponse:
    entity = entity_of(request)
    note = request.POST.get("note", "").strip()
    if request.POST.get("one"):
        verdict, _, pk = request.POST["one"].partition(":")
        ids = [n for n in [whole_number(pk)] if n is not None]
    else:
        verdict = request.POST.get("bulk", "")
        ids = [n for n in map(whole_number, request.POST.getlist("ids")) if n is not None]
    back = reverse("console:returns", kwargs={"entity": entity.slug})
    if verdict not in ("accept", "reject") or not ids:
        messages.error(request, "Select at least one return, then accept or reject.")
        return redirect(back)
    chosen = list(returns_by_ids(ids, entity=entity).values())  # another entity's ids are simply not found
    if len(chosen) != len(set(ids)):
        messages.error(request, "Some selected returns do not exist here; nothing was decided.")
        return redirect(back)
    try:
        result = services.returns_decide(actor=actor_of(request), returns=chosen, accept=verdict == "accept", note=note)
    except DomainError as exc:
        messages.error(request, f"Nothing decided: {exc}")
        return redirect(back)
    done = len(result.decided)
    if done:
        messages.success(
            request, f"{'Accepted' if verdict == 'accept' else 'Rejected'} {done} return{'s' * (done != 1)}."
        )
    for ret, reason in result.errors:
        messages.error(request, f"Lead {ret.delivery.lead_id}: {reason}")
    return redirect(back)
