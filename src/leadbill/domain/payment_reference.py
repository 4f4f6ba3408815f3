"""The structured payment reference of an invoice: an ISO 11649 RF creditor reference.

Why RF: a bank transfer that carries it can be matched to its invoice without reading free
text, in SEPA (the structured remittance field) and in any bank that passes the reference on.
It is derived from the document number alone, so it is the same wherever it is printed
(PDF, UBL BT-83, CII) and a bank statement line can be turned back into the number's key.

`RF` + two check digits (ISO 7064 mod 97-10 over the reference + "RF00", letters as numbers)
+ the number's letters and digits, at most 21 of them (ISO 11649 allows 25 characters).
"""

from __future__ import annotations

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

MAX_BODY = 21


def body_of(number: str) -> str:
    """The letters and digits of a document number, upper case: the reference's body."""
    return "".join(c for c in number.upper() if c.isascii() and c.isalnum())[-MAX_BODY:]


def rf_reference(number: str) -> str:
    """The RF creditor reference of the document numbered `number` (compact: 'RF18INV000021')."""
    body = body_of(number)
    if not body:
        raise ValueError("a payment reference needs a document number with letters or digits")
    check = mod_97_10.calc_check_digits(body + "RF")
    reference = f"RF{check}{body}"
    iso11649.validate(reference)
    return reference


def rf_printed(reference: str) -> str:
    """The reference in groups of four, as it is printed ('RF18 INV0 0002 1')."""
    return str(iso11649.format(reference))


def rf_body(text: str) -> str | None:
    """The body of a valid RF reference found as `text` (spaces allowed), else None."""
    try:
        compact = str(iso11649.validate(text))
    except iso11649.ValidationError:
        return None
    return compact[4:]
