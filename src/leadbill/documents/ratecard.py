"""The rate card as PDF (Typst, like the statement): what the portal shows, to keep or forward.

Rendered from `catalog.ratecard.rate_card` at the moment asked, so the PDF and the page never
disagree; it is not an issued document and is not archived.
"""

from __future__ import annotations

import json
from typing import Any

from leadbill.catalog.ratecard import PlanLine, RateCard
from leadbill.documents.formatting import Formatter
from leadbill.domain.periods import zone


def _when(card: RateCard, line: PlanLine, fmt: Formatter) -> str:
    tz = zone(card.partner.entity.timezone)
    start = fmt.date(line.effective_from.astimezone(tz).date())
    if line.scheduled:
        return f"from {start}"
    if line.effective_to is not None:
        return f"since {start}, until {fmt.date(line.effective_to.astimezone(tz).date())}"
    return f"since {start}"


def rate_card_payload(card: RateCard) -> dict[str, Any]:
    partner = card.partner
    entity = partner.entity
    fmt = Formatter(entity.locale, partner.currency)
    return {
        "entity": entity.legal_name,
        "partner": partner.legal_name or partner.name,
        "as_of": fmt.date(card.at.astimezone(zone(entity.timezone)).date()),
        "current": [[line.scope, line.words, _when(card, line, fmt)] for line in card.current],
        "scheduled": [[line.scope, line.words, _when(card, line, fmt)] for line in card.scheduled],
        "caps": [list(pair) for pair in card.caps],
        "cap_policy": card.cap_policy,
        "returns": [list(pair) for pair in card.returns],
        "reasons": card.return_reasons,
        "payment": [list(pair) for pair in card.payment],
        "cycle": card.cycle,
        "notes": card.notes,
        "contact": entity.email or "",
        "lang": entity.locale.split("_")[0],
    }


def rate_card_pdf(card: RateCard) -> bytes:
    from leadbill.documents.pdf import workspace

    when = card.at.replace(microsecond=0)  # the PDF's creation date is to the second
    return workspace().compile("ratecard", {"ratecard": json.dumps(rate_card_payload(card))}, when=when)


def rate_card_file_name(card: RateCard) -> str:
    day = card.at.astimezone(zone(card.partner.entity.timezone)).date()
    return f"rate-card-{card.partner.code}-{day.isoformat()}.pdf"
