"""The payment file formats, as pure functions of the payments: no database, no clock.

Each builder takes a `Batch` (the paying account and the payments, amounts in minor units)
and returns the file's bytes. `sepa` uses sepaxml (pain.001.001.09, validated against the
schema it ships); `nacha` is written here from the NACHA Operating Rules; `bankcsv` and
`sheets` are this project's documented layouts (docs/payment-files.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment to one supplier: what the file says about it."""

    end_to_end_id: str  # unique per payment, at most 35 characters
    name: str
    amount_minor: int
    remittance: str  # unstructured, at most 140 characters
    iban: str = ""
    bic: str = ""
    routing_number: str = ""
    account_number: str = ""
    code: str = ""  # the supplier's partner code, for the bank CSV


@dataclass(frozen=True, slots=True)
class Batch:
    """The payer and its payments, one currency."""

    message_id: str  # at most 35 characters
    created_at: datetime
    execution_date: date
    currency: str
    payer_name: str
    payments: tuple[Payment, ...]
    payer_iban: str = ""
    payer_bic: str = ""
    ach: dict[str, str] = field(default_factory=dict)  # the AchOriginator's fields, for NACHA

    @property
    def total_minor(self) -> int:
        return sum(p.amount_minor for p in self.payments)
