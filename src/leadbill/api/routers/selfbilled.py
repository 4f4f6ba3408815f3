"""The supplier's acceptance of its self-billed documents, with its partner API key.

Only a partner key (`scope=partner`) decides, and only on its own partner's documents (another
partner's are not found: 404): the entity's own keys cannot accept or dispute in the supplier's
name. The decision is recorded with the key (api:<prefix>) and the address it came from.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from leadbill.api.auth import key_of, require
from leadbill.api.models import Scope
from leadbill.api.payout_schemas import DisputeIn, SelfBilledOut
from leadbill.api.routers.payouts import self_billed_for
from leadbill.api.schemas import ERRORS, Problem
from leadbill.selfbilling.acceptance import API, Decider, self_invoice_accept, self_invoice_dispute
from leadbill.selfbilling.selectors import self_billed_as_dict

router = Router(tags=["self-billing"])
SUPPLIER = (Scope.PARTNER,)


def _decider(request: HttpRequest, actor: str) -> Decider:
    return Decider(by=actor, via=API, address=request.META.get("REMOTE_ADDR") or None)


@router.post(
    "/self-billed/{number}/accept",
    response={200: SelfBilledOut, ERRORS: Problem},
    summary="Accept a self-billed document (partner keys): accepting it again changes nothing",
)
def accept(request: HttpRequest, number: str, partner: str | None = None) -> dict[str, Any]:
    doc = self_billed_for(key_of(request), number, partner)  # another entity's or partner's: 404 before the scope
    key = require(request, *SUPPLIER)
    return self_billed_as_dict(self_invoice_accept(actor=key.actor, doc=doc, decider=_decider(request, key.actor)))


@router.post(
    "/self-billed/{number}/dispute",
    response={200: SelfBilledOut, ERRORS: Problem},
    summary="Dispute a self-billed document with a reason (partner keys): it is reversed, the payout reviewed again",
)
def dispute(request: HttpRequest, number: str, payload: DisputeIn, partner: str | None = None) -> dict[str, Any]:
    doc = self_billed_for(key_of(request), number, partner)
    key = require(request, *SUPPLIER)
    disputed = self_invoice_dispute(actor=key.actor, doc=doc, decider=_decider(request, key.actor),
                                    reason=payload.reason)  # fmt: skip
    return self_billed_as_dict(disputed)
