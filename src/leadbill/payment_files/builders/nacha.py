"""A NACHA ACH file of credits (PPD or CCD), one batch, written from the rules.

No maintained Python NACHA library was found on PyPI (the ones there were last released
between 2014 and 2023, the newest a permissive beta), so the format is written here, small
and tested, from the NACHA Operating Rules, Appendix Three "ACH Record Format
Specifications" (file header 1, company/batch header 5, entry detail 6, addenda 7 with type
05, company/batch control 8, file control 9):

- every record is 94 characters; alphanumeric fields are upper-case, left-justified and
  space-filled, numeric fields right-justified and zero-filled;
- the entry hash is the sum of the 8-digit receiving DFI identifications of the entries,
  its rightmost 10 digits;
- totals are in cents; this file carries credits only (service class 220, transaction
  code 22, a credit to a checking account);
- the file is blocked by 10: records of all 9s fill the last block (blocking factor 10);
- each entry may carry one 05 addenda with the payment-related information (the
  self-invoice numbers), as PPD+ and CCD+ allow.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from leadbill.domain.numbers import digit_string
from leadbill.payment_files.builders import Batch

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
SERVICE_CLASS_CREDITS = "220"
CHECKING_CREDIT = "22"
MEDIA_TYPE = "text/plain"
FILE_ID_MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
MAX_AMOUNT_MINOR = 99_999_999  # the entry's amount field: 10 digits of cents, at most $99,999,999.99
# What each ACH setting is, for the console form, the CLI options and the docs.
ACH_HELP = {
    "immediate_destination": "routing number of the bank the file goes to (9 digits)",
    "immediate_destination_name": "that bank's name (23 characters)",
    "immediate_origin": "immediate origin as the bank gave it, often 1 + the EIN (10 characters)",
    "immediate_origin_name": "the company's name on the file (23 characters)",
    "company_name": "the name receivers see on their statements (16 characters)",
    "company_id": "company identification, often 1 + the EIN (10 characters)",
    "odfi_routing": "routing number of the originating bank, the ODFI (9 digits)",
    "entry_class": "PPD (consumer accounts) or CCD (business accounts; default)",
    "entry_description": "company entry description, e.g. PAYOUT (10 characters)",
}
_NOT_ALLOWED = re.compile(r"[^A-Z0-9 .,&'/()\-#*:;+=@!?%$]")


class NachaError(ValueError):
    """A value that cannot go into a NACHA field as it is."""


def alpha(value: str, width: int) -> str:
    """An alphanumeric field: ASCII upper case, left-justified, space-filled, cut to `width`."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()
    return _NOT_ALLOWED.sub(" ", ascii_text)[:width].ljust(width)


def numeric(value: int | str, width: int) -> str:
    """A numeric field: digits, right-justified, zero-filled; refused when it does not fit."""
    text = str(value)
    if digit_string(text, max_digits=width) != text:
        raise NachaError(f"{value!r} does not fit a {width}-digit field")
    return text.zfill(width)


@dataclass(frozen=True, slots=True)
class Totals:
    entries: int
    addenda: int
    entry_hash: int
    credit_minor: int
    records: int  # without the 9-filled padding
    blocks: int


def _record(*parts: str) -> str:
    line = "".join(parts)
    if len(line) != RECORD_LENGTH:  # a builder bug, never the data's: every field is cut or refused above
        raise AssertionError(f"a NACHA record of {len(line)} characters: {line!r}")
    return line


def _origin(value: str) -> str:
    """Immediate origin: a 9-digit routing number is written as b + the number; otherwise the 10 characters given."""
    return " " + value if digit_string(value, max_digits=9) == value and len(value) == 9 else alpha(value, 10)


def build(batch: Batch, *, file_id_modifier: str = "A") -> bytes:
    """The NACHA file of `batch` (USD credits); lines end with CR LF."""
    return ("\r\n".join(records(batch, file_id_modifier=file_id_modifier)) + "\r\n").encode("ascii")


def records(batch: Batch, *, file_id_modifier: str = "A") -> list[str]:
    ach = batch.ach
    odfi = numeric(ach["odfi_routing"], 9)[:8]
    created = batch.created_at
    header = _record(
        "1", "01", " " + numeric(ach["immediate_destination"], 9), _origin(ach["immediate_origin"]),
        created.strftime("%y%m%d"), created.strftime("%H%M"), alpha(file_id_modifier, 1), "094",
        f"{BLOCKING_FACTOR:02d}", "1", alpha(ach["immediate_destination_name"], 23),
        alpha(ach["immediate_origin_name"], 23), alpha(batch.message_id[-8:], 8),
    )  # fmt: skip
    batch_number = numeric(1, 7)
    company_id = alpha(ach["company_id"], 10)
    batch_header = _record(
        "5", SERVICE_CLASS_CREDITS, alpha(ach["company_name"], 16), alpha(batch.message_id, 20), company_id,
        alpha(ach["entry_class"], 3), alpha(ach["entry_description"], 10), created.strftime("%y%m%d"),
        batch.execution_date.strftime("%y%m%d"), "   ", "1", odfi, batch_number,
    )  # fmt: skip
    lines = [header, batch_header]
    entry_hash = 0
    addenda = 0
    for sequence, payment in enumerate(batch.payments, start=1):
        routing = numeric(payment.routing_number, 9)
        if not 0 < payment.amount_minor <= MAX_AMOUNT_MINOR:
            raise NachaError(f"{payment.end_to_end_id}: an ACH entry is between $0.01 and $99,999,999.99")
        trace = odfi + numeric(sequence, 7)
        has_addenda = bool(payment.remittance.strip())
        lines.append(_record(
            "6", CHECKING_CREDIT, routing[:8], routing[8], alpha(payment.account_number, 17),
            numeric(payment.amount_minor, 10), alpha(payment.end_to_end_id, 15), alpha(payment.name, 22), "  ",
            "1" if has_addenda else "0", trace,
        ))  # fmt: skip
        if has_addenda:
            lines.append(_record("7", "05", alpha(payment.remittance, 80), "0001", numeric(sequence, 7)))
            addenda += 1
        entry_hash += int(routing[:8])
    count = len(batch.payments) + addenda
    hash_text = numeric(entry_hash % 10**10, 10)
    credit = numeric(batch.total_minor, 12)
    lines.append(_record(
        "8", SERVICE_CLASS_CREDITS, numeric(count, 6), hash_text, numeric(0, 12), credit, company_id, " " * 19,
        " " * 6, odfi, batch_number,
    ))  # fmt: skip
    records_so_far = len(lines) + 1
    blocks = -(-records_so_far // BLOCKING_FACTOR)
    lines.append(_record(
        "9", numeric(1, 6), numeric(blocks, 6), numeric(count, 8), hash_text, numeric(0, 12), credit, " " * 39,
    ))  # fmt: skip
    lines.extend("9" * RECORD_LENGTH for _ in range(blocks * BLOCKING_FACTOR - records_so_far))
    return lines


def totals(lines: list[str]) -> Totals:
    """What a file's records add up to, read back (for tests and the file page)."""
    entries = [line for line in lines if line[0] == "6"]
    addenda = [line for line in lines if line[0] == "7"]
    real = [line for line in lines if line != "9" * RECORD_LENGTH]
    return Totals(
        entries=len(entries), addenda=len(addenda), entry_hash=sum(int(e[3:11]) for e in entries) % 10**10,
        credit_minor=sum(int(e[29:39]) for e in entries), records=len(real), blocks=len(lines) // BLOCKING_FACTOR,
    )  # fmt: skip
