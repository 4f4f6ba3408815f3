"""What the run pages need beyond the services: the period picker, "billed on" documents, anomaly links.

The picker turns what a person chose (a month, an ISO week, a partner's weekly window, or a
date range) into a period through `domain.periods`, the one parser, and names the field that
is wrong when it cannot. Anomaly links lead to the deliveries log filtered to the leads an
anomaly is about, with the filters that log accepts (partner, from, to, status).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode

from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.entities.models import Entity
from leadbill.invoicing.models import PERIOD_DOCUMENT, Invoice, Status
from leadbill.partners.models import Partner
from leadbill.web.inputs import day_input

PICKER_KINDS = (("month", "Month"), ("week", "ISO week"), ("window", "Weekly billing window"), ("range", "Date range"))
MAX_RANGE_DAYS = 366  # a longer custom range is a typo, and a preview that scans years holds a worker


@dataclass
class Picked:
    """The picker's outcome: a period (and the one partner a window bills), or the problems per field."""

    values: dict[str, str]
    period: periods.Period | None = None
    partner: Partner | None = None
    problems: dict[str, str] = field(default_factory=dict)


def picker_values(params: Any) -> dict[str, str]:
    keys = ("kind", "month", "week", "window", "from", "to", "period", "partner")
    return {k: str(params.get(k, "")).strip()[:80] for k in keys}


def pick_period(entity: Entity, params: Any) -> Picked:
    """The period a preview or issue is for: `period` (a key, as links and the issue form carry) or the picker's fields."""
    picked = Picked(picker_values(params))
    v = picked.values
    kind = v["kind"] or ("key" if v["period"] else "month")
    text, where = v["period"], "period"
    if kind == "month":
        text, where = v["month"], "month"
    elif kind == "week":
        text, where = v["week"], "week"
    elif kind == "window":
        partner_code, _, text = v["window"].partition("|")
        where = "window"
        v["partner"] = partner_code or v["partner"]  # a partner's window bills that partner
    elif kind == "range":
        first = _day(v["from"], "from", picked)
        last = _day(v["to"], "to", picked)
        if first and last:
            if last < first:
                picked.problems["to"] = "the range ends before it starts"
            elif (last - first).days >= MAX_RANGE_DAYS:
                picked.problems["to"] = f"a range is at most {MAX_RANGE_DAYS} days; run it in parts"
            else:
                text = f"{first.isoformat()}..{last.isoformat()}"
        if picked.problems:
            return picked
        where = "from"
    elif kind != "key":
        picked.problems["kind"] = f"choose one of: {', '.join(k for k, _ in PICKER_KINDS)}"
        return picked
    if not text:
        picked.problems[where] = "choose a period"
        return picked
    try:
        picked.period = periods.parse(text, entity.timezone)
    except DomainError as exc:
        picked.problems[where] = exc.message
    if v["partner"]:
        picked.partner = Partner.objects.filter(entity=entity, code=v["partner"]).first()
        if picked.partner is None:
            picked.problems["window" if kind == "window" else "partner"] = f"no partner {v['partner']!r}"
    return picked


def _day(text: str, name: str, picked: Picked) -> date | None:
    if not text:
        picked.problems[name] = "choose a date"
        return None
    try:
        return day_input(text, name)
    except DomainError as exc:
        picked.problems[name] = exc.message
        return None


@dataclass(frozen=True, slots=True)
class Billed:
    partner_code: str
    partner_name: str
    invoice: Invoice


def billed_in(entity: Entity, period: periods.Period, codes: list[str]) -> list[Billed]:
    """The documents that already bill these partners for this period: "billed on US-000021"."""
    if not codes:
        return []
    rows = (Invoice.objects.filter(PERIOD_DOCUMENT, entity=entity, partner__code__in=codes, period_start=period.start,
                                   period_end=period.end)
            .exclude(status=Status.VOID).select_related("partner").order_by("partner__name", "pk"))  # fmt: skip
    return [Billed(inv.partner.code, inv.partner.name, inv) for inv in rows]


@dataclass(frozen=True, slots=True)
class Anomaly:
    text: str
    url: str
    link_text: str


_DAY = re.compile(r"over cap on (\d{4}-\d{2}-\d{2}) \(daily cap")
_WEEK = re.compile(r"over cap on week of (\d{4}-\d{2}-\d{2})")
_VOIDED = re.compile(r"from voided (\S+) \(")


def anomaly_links(entity: Entity, period: periods.Period, partner_code: str, texts: list[str]) -> list[Anomaly]:
    """Each anomaly with the page that shows what is behind it: the deliveries concerned, or the document."""
    slug = entity.slug
    log = reverse("console:deliveries", kwargs={"entity": slug})
    first, last = period.first_day, period.last_day
    out = []
    for text in texts:
        query: dict[str, str] = {"partner": partner_code, "from": first.isoformat(), "to": last.isoformat()}
        link = "deliveries"
        if m := _DAY.search(text):
            query |= {"from": m.group(1), "to": m.group(1)}
        elif m := _WEEK.search(text):
            day = date.fromisoformat(m.group(1))
            query |= {"from": day.isoformat(), "to": (day + timedelta(days=6)).isoformat()}
        elif "late deliveries of earlier periods" in text:
            query |= {"to": (first - timedelta(days=1)).isoformat(), "status": "unbilled"}
            query.pop("from")
        elif "(not billed)" in text:
            query["status"] = "unbilled"
        elif m := _VOIDED.search(text):
            number = m.group(1)
            out.append(Anomaly(text, reverse("console:invoice", kwargs={"entity": slug, "ref": number}), number))
            continue
        elif "balance" in text or "credit limit" in text:
            url = reverse("console:partner", kwargs={"entity": slug, "code": partner_code})
            out.append(Anomaly(text, url + "#receivables", "partner"))
            continue
        out.append(Anomaly(text, f"{log}?{urlencode(query)}", link))
    return out
