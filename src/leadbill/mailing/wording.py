"""Subject and body templates of document emails: `$placeholders`, checked when saved.

`string.Template` substitutes names only (no attribute access, no code), so an entity's
template text can never reach into Python objects.
"""

from __future__ import annotations

from string import Template
from typing import Any

from leadbill.domain.errors import DomainError

PLACEHOLDERS = {
    "number": "the document's number",
    "kind": "Invoice, Prepay receipt or Credit note",
    "kind_lower": "the same in lower case",
    "seller": "the entity's name as printed on the document",
    "partner": "the partner's name",
    "period": "the billing period, e.g. 1–31 October 2026",
    "for_period": "' for <period>' or nothing",
    "total": "the total with its currency",
    "due_date": "the due date (YYYY-MM-DD) or nothing",
    "due_text": "'\\nDue: <date>' or nothing",
}


# Reminders know what is still open and for how long.
REMINDER_PLACEHOLDERS = {
    **PLACEHOLDERS,
    "open": "what is still open, with its currency",
    "days_overdue": "days past the due date (0 or less: not due yet)",
    "payment_reference": "the RF payment reference to quote",
}


def check(text: str, field: str, placeholders: dict[str, str] = PLACEHOLDERS) -> str:
    """Refuse a template with a malformed or unknown placeholder, naming it."""
    template = Template(text)
    if not template.is_valid():
        raise DomainError(f"{field}: a '$' must start a placeholder such as $number; write $$ for a dollar sign",
                          field=field)  # fmt: skip
    unknown = sorted(set(template.get_identifiers()) - set(placeholders))
    if unknown:
        raise DomainError(
            f"{field}: unknown placeholder ${unknown[0]}; use one of " + ", ".join(f"${p}" for p in placeholders),
            field=field,
        )
    return text


def fill(text: str, values: dict[str, Any]) -> str:
    return Template(text).safe_substitute({k: str(v) for k, v in values.items()})
