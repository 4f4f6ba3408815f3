"""Portal returns: pick leads from the list or upload their ids, choose a reason, one submit.

Every lead goes through the one return service (`returns_request_many`: one transaction,
each return audited). What the partner reads names its own lead ids and its row numbers,
never our external ids or database keys.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode

from leadbill.console.lookups import cursor_read, cursor_text
from leadbill.deliveries.importing import MAX_REASON_LENGTH
from leadbill.deliveries.models import Delivery, Return
from leadbill.deliveries.selectors import (
    OTHER_REASON,
    deliveries_with_returns,
    lead_types_bought,
    return_reasons,
)
from leadbill.deliveries.services import AlreadyReturned, returns_request_many
from leadbill.domain.errors import DomainError
from leadbill.domain.periods import local_midnight, zone
from leadbill.domain.text import unsafe_character
from leadbill.partners.models import Partner
from leadbill.web.access import actor_of
from leadbill.web.inputs import day_input

PAGE = 50
MAX_UPLOAD_BYTES = 256 * 1024  # ~10,000 lead ids; the service takes at most MAX_RETURN_BATCH rows
MAX_UPLOAD_ROWS = 1_000
MAX_LEAD_ID = 120  # Delivery.lead_id
LEAD_HEADERS = {"lead_id", "lead id", "lead", "leadid", "lead_ids"}
FORMULA_TEXT = re.compile(r'^="(.*)"$')  # ="00123": a spreadsheet's way of keeping a text as typed


@dataclass
class Problem:
    """One thing the partner must fix: where (row or lead), and why, in the partner's words."""

    where: str
    message: str


@dataclass
class Outcome:
    returned: int = 0
    accepted: int = 0
    problems: list[Problem] = field(default_factory=list)


def chosen_reason(post: Any, reasons: list[str]) -> tuple[str | None, str | None]:
    """(the reason to store, or None; the problem, or None) from the form's reason and "Other" text."""
    picked = (post.get("reason") or "").strip()
    if not picked:
        return None, "Choose a reason."
    if picked not in reasons:
        return None, f"Choose one of the reasons listed; {picked[:60]!r} is not one."
    if picked != OTHER_REASON:
        return picked, None
    text = (post.get("other") or "").strip()
    if not text:
        return None, "Say what the other reason is."
    bad = unsafe_character(text)
    if bad is not None:
        return None, f"The other reason: {bad}."
    reason = f"{OTHER_REASON}: {text}"
    if len(reason) > MAX_REASON_LENGTH:
        return None, f"The other reason is too long: at most {MAX_REASON_LENGTH - len(OTHER_REASON) - 2} characters."
    return reason, None


def partner_wording(exc: DomainError, partner: Partner) -> str:
    """A refusal of the return service, said to the partner (the service's words name our codes)."""
    if isinstance(exc, AlreadyReturned):
        return "it already has a return request"
    if exc.field == "requested_at" and partner.return_max_age_days is not None:
        days = partner.return_max_age_days
        return f"it was delivered more than {days} days ago; returns are accepted within {days} days of delivery"
    if exc.field == "share" and partner.return_max_share_bp is not None:
        bp = partner.return_max_share_bp
        return f"returning it would take your returns above the agreed {bp // 100}.{bp % 100:02d} % of a month's leads"
    if exc.field == "partner":
        return "returns are not accepted under your terms"
    return exc.message


def _local_day(partner: Partner, when: datetime) -> str:
    return when.astimezone(zone(partner.entity.timezone)).date().isoformat()


def _request(request: HttpRequest, partner: Partner, chosen: list[tuple[str, Delivery, str]]) -> Outcome:
    """Return `chosen` (where, delivery, reason) through the service; refusals keep their place."""
    outcome = Outcome()
    if not chosen:
        return outcome
    batch = returns_request_many(actor=actor_of(request), partner=partner,
                                 requests=[(delivery, reason) for _, delivery, reason in chosen])  # fmt: skip
    outcome.returned = len(batch.requested)
    outcome.accepted = sum(1 for ret in batch.requested if ret.status == "accepted")
    for index, _, exc in batch.errors:
        outcome.problems.append(Problem(chosen[index][0], partner_wording(exc, partner)))
    return outcome


# --- the upload ----------------------------------------------------------------------------


@dataclass
class UploadRow:
    row: int
    lead_id: str
    delivered_on: date | None
    reason: str | None


def _text_of(upload: UploadedFile) -> str:
    if upload.size is None or upload.size > MAX_UPLOAD_BYTES:
        raise DomainError(f"the file is larger than {MAX_UPLOAD_BYTES // 1024} KB; send at most {MAX_UPLOAD_ROWS:,} "
                          "leads per file", field="file")  # fmt: skip
    raw = upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        return raw.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not part of the header
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # Excel's "CSV (Comma delimited)" on Windows


def _cell(text: str) -> str:
    """A cell as a spreadsheet wrote it: ="00123" unwrapped, our exports' leading apostrophe dropped."""
    text = text.strip()
    found = FORMULA_TEXT.match(text)
    if found:
        return found.group(1).strip()
    if text.startswith("'"):
        return text[1:].strip()
    return text


def _reason_cell(text: str, reasons: list[str]) -> str:
    lowered = {r.lower(): r for r in reasons}
    if text.lower() in lowered and lowered[text.lower()] != OTHER_REASON:
        return lowered[text.lower()]
    head, sep, rest = text.partition(":")
    if sep and head.strip().lower() == OTHER_REASON.lower() and rest.strip():
        reason = f"{OTHER_REASON}: {rest.strip()}"
        if len(reason) > MAX_REASON_LENGTH:
            raise DomainError(f"the reason is longer than {MAX_REASON_LENGTH} characters", field="reason")
        return reason
    raise DomainError(f"reason {text[:60]!r} is not one of the listed reasons (or \"Other: your words\")",
                      field="reason")  # fmt: skip


def _column(values: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    return _cell(values[index]) if index is not None and index < len(values) else ""


def _records(reader: Any, problems: list[Problem]) -> Any:
    """The reader's records; a line the csv module cannot read ends the file, named as a problem."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(Problem(f"Row {reader.line_num}", f"not readable as CSV ({exc}); the rest was not read"))
            return


def read_upload(
    upload: UploadedFile, reasons: list[str], default_reason: str | None
) -> tuple[list[UploadRow], list[Problem]]:
    """The rows of an uploaded CSV of lead ids; every bad row is a problem naming its row and lead id.

    Columns: lead_id (required), delivered_on (YYYY-MM-DD, to pick one of a lead's deliveries)
    and reason (else the form's). Commas, semicolons or tabs; a file of ids with no header works too.
    """
    text = _text_of(upload)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = max(",;\t", key=first.count) if any(c in first for c in ",;\t") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, problems = [], []
    header: list[str] | None = None
    columns = {"lead_id": 0}
    for values in _records(reader, problems):
        if not any(v.strip() for v in values):
            continue
        row = reader.line_num
        if header is None:
            header = [_cell(v).lower() for v in values]
            if LEAD_HEADERS & set(header):
                columns = {"lead_id": next(i for i, name in enumerate(header) if name in LEAD_HEADERS)}
                for name in ("delivered_on", "reason"):
                    if name in header:
                        columns[name] = header.index(name)
                continue
        if len(rows) + len(problems) >= MAX_UPLOAD_ROWS:
            problems.append(
                Problem(f"Row {row}", f"a file holds at most {MAX_UPLOAD_ROWS:,} leads; the rest were not read")
            )
            break

        lead_id = _column(values, columns, "lead_id")
        where = f"Row {row}" + (f", lead {lead_id}" if lead_id and unsafe_character(lead_id) is None else "")
        try:
            if not lead_id:
                raise DomainError("no lead id", field="lead_id")
            if lead_id.startswith(("=", "+", "@")):
                raise DomainError("a formula, not a lead id; paste the value", field="lead_id")
            bad = unsafe_character(lead_id)
            if bad is not None:
                raise DomainError(bad, field="lead_id")
            if len(lead_id) > MAX_LEAD_ID:
                raise DomainError(f"a lead id has at most {MAX_LEAD_ID} characters", field="lead_id")
            day_text = _column(values, columns, "delivered_on")
            delivered_on = day_input(day_text, "delivered_on") if day_text else None
            reason_text = _column(values, columns, "reason")
            reason = _reason_cell(reason_text, reasons) if reason_text else default_reason
            if reason is None:
                raise DomainError("no reason: choose one above, or add a reason column", field="reason")
        except DomainError as exc:
            problems.append(
                Problem(where, exc.message if exc.field in (None, "lead_id") else f"{exc.field}: {exc.message}")
            )
            continue
        rows.append(UploadRow(row, lead_id, delivered_on, reason))
    if not rows and not problems:
        problems.append(Problem("File", "no lead ids found"))
    return rows, problems


def match_rows(partner: Partner, rows: list[UploadRow]) -> tuple[list[tuple[str, Delivery, str]], list[Problem]]:
    """Each row's delivery: that day's (with delivered_on), else the newest of the lead's not yet returned.

    A lead delivered twice is returned once per row that names it; one query finds every delivery.
    """
    tz = zone(partner.entity.timezone)
    found: dict[str, list[Delivery]] = {}
    for delivery in deliveries_with_returns(
        Delivery.objects.filter(partner=partner, lead_id__in={r.lead_id for r in rows})
    ).order_by("-delivered_at", "-pk"):
        found.setdefault(delivery.lead_id, []).append(delivery)
    taken: set[int] = set()
    chosen, problems = [], []
    for r in rows:
        where = f"Row {r.row}, lead {r.lead_id}"
        candidates = found.get(r.lead_id, [])
        if r.delivered_on is not None:
            candidates = [d for d in candidates if d.delivered_at.astimezone(tz).date() == r.delivered_on]
        if not candidates:
            on = f" on {r.delivered_on.isoformat()}" if r.delivered_on else ""
            problems.append(Problem(where, f"no such lead was delivered to {partner.name}{on}"))
            continue
        free = [d for d in candidates if d.pk not in taken and not d.open_return_status]
        if not free:
            times = len(candidates)
            problems.append(Problem(where, "it already has a return request" if times == 1 else
                                    f"delivered {times} times, and each delivery already has a return request"))  # fmt: skip
            continue
        taken.add(free[0].pk)
        chosen.append((where, free[0], r.reason or ""))
    return chosen, problems


# --- the page ------------------------------------------------------------------------------


def _lead_list(partner: Partner, params: Any) -> dict[str, Any]:
    """The partner's leads newest first, filtered (lead type, dates, lead id), one keyset page."""
    lead_types = list(lead_types_bought(partner))
    chosen = {k: (params.get(k) or "").strip()[:MAX_LEAD_ID] for k in ("lead_type", "from", "to", "lead", "after")}
    problems: dict[str, str] = {}
    tz = zone(partner.entity.timezone)
    now = timezone.now()
    rows = Delivery.objects.filter(partner=partner)
    oldest = now - timedelta(days=partner.return_max_age_days) if partner.return_max_age_days is not None else None
    if oldest is not None:
        rows = rows.filter(delivered_at__gte=oldest)  # only leads that can still be returned
    if chosen["lead_type"]:
        lead_type = next((t for t in lead_types if t.code == chosen["lead_type"]), None)
        if lead_type is None:
            problems["lead_type"] = "not a lead type you bought"
        else:
            rows = rows.filter(lead_type=lead_type)
    for name, op in (("from", "gte"), ("to", "lt")):
        if chosen[name]:
            try:
                day = day_input(chosen[name], name)
            except DomainError as exc:
                problems[name] = exc.message
            else:
                edge = local_midnight(day + timedelta(days=1 if name == "to" else 0), tz)
                rows = rows.filter(**{f"delivered_at__{op}": edge})
    if chosen["lead"]:
        rows = rows.filter(lead_id=chosen["lead"])
    cursor = cursor_read(chosen["after"])
    if cursor is not None and cursor[0] is not None:
        from django.db.models import Q

        at, pk = cursor
        rows = rows.filter(Q(delivered_at__lt=at) | Q(delivered_at=at, pk__lt=pk))
    page = list(deliveries_with_returns(rows).order_by("-delivered_at", "-pk")[: PAGE + 1])
    more = len(page) > PAGE
    page = page[:PAGE]
    query = {k: v for k, v in chosen.items() if v and k != "after"}
    next_url = None
    if more:
        next_url = "?" + urlencode({**query, "after": cursor_text(page[-1].delivered_at, page[-1].pk)})
    return {"leads": page, "lead_types": lead_types, "chosen": chosen, "filter_problems": problems,
            "next_url": next_url, "oldest": oldest}  # fmt: skip


def returns_page(request: HttpRequest, partner: Partner) -> HttpResponse:
    """GET: the lead list, the upload and the requests so far. POST: return the selected or uploaded leads."""
    reasons = return_reasons(partner.entity)
    outcome: Outcome | None = None
    form_problem = ""
    if request.method == "POST":
        if not partner.returns_allowed:
            raise Http404("returns are not allowed for this partner")
        reason, form_problem_or_none = chosen_reason(request.POST, reasons)
        form_problem = form_problem_or_none or ""
        if request.POST.get("action") == "upload":
            upload = request.FILES.get("file")
            if upload is None:
                form_problem = "Choose a CSV file of lead ids."
            else:
                try:
                    rows, problems = read_upload(upload, reasons, reason)
                except DomainError as exc:
                    form_problem = exc.message[0].upper() + exc.message[1:] + "."
                else:
                    if rows and all(r.reason for r in rows):  # every row has its own reason column
                        form_problem = ""
                    chosen, missing = match_rows(partner, rows)
                    outcome = _request(request, partner, chosen)
                    outcome.problems = problems + missing + outcome.problems
                    outcome.problems.sort(key=lambda p: _row_number(p.where))
        else:
            ids = [n for n in (_pk(v) for v in request.POST.getlist("delivery")[:1000]) if n is not None]
            if not ids:
                form_problem = "Select at least one lead."
            elif reason is not None:
                deliveries = deliveries_with_returns(Delivery.objects.filter(partner=partner, pk__in=ids))
                chosen = [(f"Lead {d.lead_id} (delivered {_local_day(partner, d.delivered_at)})", d, reason)
                          for d in deliveries.order_by("-delivered_at", "-pk")]  # fmt: skip
                outcome = _request(request, partner, chosen)
                if len(chosen) != len(set(ids)):  # another partner's id, or one that is gone: never named
                    outcome.problems.append(
                        Problem("Selection", "some selected leads are not yours; they were left out")
                    )
        if outcome is not None and not outcome.problems and not form_problem:
            done = outcome.returned
            messages.success(request, f"{done} lead{'s' * (done != 1)} returned"
                             + (f" ({outcome.accepted} accepted at once)." if outcome.accepted else "; we will review the request."))  # fmt: skip
            return redirect("portal:returns")
    context = {
        "reasons": reasons, "outcome": outcome, "form_problem": form_problem, "nav": "returns",
        "form": request.POST if request.method == "POST" else {},
        "selected": set(request.POST.getlist("delivery")) if request.method == "POST" else set(),
        "rows": Return.objects.filter(delivery__partner=partner).select_related("delivery", "delivery__lead_type")
        .order_by("-requested_at", "-pk")[:200],
        "max_rows": MAX_UPLOAD_ROWS, "max_kb": MAX_UPLOAD_BYTES // 1024,
        **_lead_list(partner, request.GET),
    }  # fmt: skip
    bad = bool(form_problem or (outcome and outcome.problems))
    return render(request, "portal/returns.html", context, status=400 if bad else 200)


def _pk(text: str) -> int | None:
    from leadbill.domain.numbers import whole_number

    return whole_number(text, max_digits=18)


def _row_number(where: str) -> int:
    found = re.match(r"Row (\d+)", where)
    return int(found.group(1)) if found else 0
