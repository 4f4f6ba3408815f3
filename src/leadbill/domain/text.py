"""Free text from outside: the one place that decides which characters may enter.

A control character (ESC, VT, BEL, …) in a name, an address, a reason or a lead's field
broke every document that printed it: Typst refused it (the PDF and Factur-X answered 500),
and UBL kept it as XML that is not well-formed, archived for good. So text is checked
where it enters, once, by this module, and nothing unsafe reaches the database.

What is unsafe (`unsafe_character`):

- the control characters, Unicode category Cc: U+0000 to U+001F and U+007F to U+009F;
  a *multi-line* field (an invoice footer, a lead's own field) keeps tab, line feed and
  carriage return, a *single-line* field (names, address lines, codes, ids, reasons,
  notes) refuses them too;
- the surrogates U+D800 to U+DFFF (category Cs): they are halves of a UTF-16 pair, never
  a character of their own, and no encoder or XML parser takes them alone;
- U+FFFE and U+FFFF, which XML 1.0 excludes from its characters;
- the bidirectional embeddings, overrides and isolates U+202A to U+202E and U+2066 to
  U+2069: invisible, they reorder what follows them on screen and in the PDF, so a name or a
  line could show an amount or a number other than the one stored ("Trojan Source").
  Right-to-left text itself needs none of them.

Private-use and unassigned code points are left alone: they are valid XML and print as a
box at worst, and refusing unassigned ones would refuse text a newer Unicode allows.

Two ways to treat unsafe text, by how it comes:

- one value (a form field, a JSON field, a key of the set-up file): it is REFUSED, with the
  field and the character named: ``contact.name: control character U+001B is not allowed``
  (`check_text`). Whoever typed it is there to fix it.
- a file of rows (a CSV import of deliveries or returns, and the API batches, which share
  its row parser): the character is REMOVED (`clean_text`), so a stray byte from another
  system does not cost a valid row. In a single-line field a tab, line feed or carriage
  return becomes a space (two words stay two words); every other unsafe character is
  dropped. NUL stays refused even in files, as before: it is binary data, not text.

Pure Python, no Django: the loader, the row parsers, the API schemas and the forms all
call the functions here.
"""

from __future__ import annotations

import re
import unicodedata

from leadbill.domain.errors import DomainError

_MULTI_LINE_UNSAFE = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"
_BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
_LINE_BREAKS = "\t\n\r"

# What a single-line field refuses, and what a multi-line field refuses.
_UNSAFE_LINE = re.compile(f"[{_MULTI_LINE_UNSAFE}\t\n\r]")
_UNSAFE_MULTI_LINE = re.compile(f"[{_MULTI_LINE_UNSAFE}]")
_BREAKS = re.compile(f"[{_LINE_BREAKS}]")

_NAMES = {"\t": "tab", "\n": "line break", "\r": "line break"}


def _pattern(multiline: bool) -> re.Pattern[str]:
    return _UNSAFE_MULTI_LINE if multiline else _UNSAFE_LINE


def has_unsafe(text: str, *, multiline: bool = False) -> bool:
    """Whether `text` holds a character `check_text` would refuse; one regular-expression scan."""
    return _pattern(multiline).search(text) is not None


def unsafe_character(text: str, *, multiline: bool = False) -> str | None:
    """Why `text` may not enter ("control character U+001B is not allowed"), or None when it may."""
    found = _pattern(multiline).search(text)
    if found is None:
        return None
    char = found.group()
    code = ord(char)
    if char in _NAMES:
        what = f"{_NAMES[char]} (U+{code:04X})"
        return f"{what} is not allowed: one line only"
    if unicodedata.category(char) == "Cs":
        kind = "surrogate"
    elif code in (0xFFFE, 0xFFFF):
        kind = "non-character"
    elif code in _BIDI_CONTROLS:
        kind = "bidirectional control"
    else:
        kind = "control character"
    return f"{kind} U+{code:04X} is not allowed"


def check_text(text: str, *, field: str | None = None, multiline: bool = False) -> str:
    """`text` unchanged, or DomainError naming `field` and the first unsafe character (one value)."""
    problem = unsafe_character(text, multiline=multiline)
    if problem is not None:
        raise DomainError(problem, field=field)
    return text


def field_text(text: str, *, field: str, max_length: int, multiline: bool = False) -> str:
    """One value a service stores: trimmed, then refused naming `field` if unsafe or too long.

    Services call it on every free text they keep (a reason, a reference, a footer), so what
    the console, the portal, the API or the CLI sends is held to the same rule.
    """
    text = check_text(text.strip(), field=field, multiline=multiline)
    if len(text) > max_length:
        raise DomainError(f"at most {max_length} characters, got {len(text)}", field=field)
    return text


def clean_text(text: str, *, multiline: bool = False) -> str:
    """`text` with its unsafe characters removed (a file of rows); in one line, a break becomes a space."""
    pattern = _pattern(multiline)
    if pattern.search(text) is None:
        return text
    if not multiline:
        text = _BREAKS.sub(" ", text)
    return _UNSAFE_MULTI_LINE.sub("", text)
