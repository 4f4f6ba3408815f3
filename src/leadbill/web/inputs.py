"""Reading what people type into forms, with errors that name the field."""

from __future__ import annotations

from datetime import date

from leadbill.domain.errors import DomainError
from leadbill.domain.periods import check_day


def day_input(text: str | None, field: str, default: date | None = None) -> date:
    """A date typed into a form (YYYY-MM-DD), within the years the domain accepts."""
    if not text or not text.strip():
        if default is None:
            raise DomainError("required", field=field)
        return default
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("give a date as YYYY-MM-DD", field=field) from None
    return check_day(day, field)
