"""The one check of free text: control characters are refused in a value, removed from a file's rows."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain.errors import DomainError
from leadbill.domain.text import check_text, clean_text, has_unsafe, unsafe_character

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
PRINTABLE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn"), blacklist_characters=BIDI_CONTROLS),
    max_size=60,
)


def unsafe(char: str, *, multiline: bool) -> bool:
    if char in "\t\n\r":
        return not multiline
    return unicodedata.category(char) in ("Cc", "Cs") or char in "\ufffe\uffff" or char in BIDI_CONTROLS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\x1b[31mAcme", "control character U+001B is not allowed"),
        ("Acme\x0b", "control character U+000B is not allowed"),
        ("ring\x07", "control character U+0007 is not allowed"),
        ("a\x00b", "control character U+0000 is not allowed"),
        ("next\x85line", "control character U+0085 is not allowed"),
        ("del\x7f", "control character U+007F is not allowed"),
        ("half \ud83d", "surrogate U+D83D is not allowed"),
        ("not \uffff xml", "non-character U+FFFF is not allowed"),
        ("Invoice \u202e00.01", "bidirectional control U+202E is not allowed"),
        ("name \u2067x\u2069", "bidirectional control U+2067 is not allowed"),
        ("two\nlines", "line break (U+000A) is not allowed: one line only"),
        ("a\tb", "tab (U+0009) is not allowed: one line only"),
    ],
)
def test_a_single_value_with_an_unsafe_character_is_refused_naming_field_and_character(text, message):
    with pytest.raises(DomainError) as caught:
        check_text(text, field="contact.name")
    assert str(caught.value) == f"contact.name: {message}"
    assert caught.value.field == "contact.name"


def test_a_multi_line_value_keeps_tabs_and_line_breaks_but_not_other_controls():
    assert check_text("Amtsgericht\r\nHamburg\tHRB 1", multiline=True) == "Amtsgericht\r\nHamburg\tHRB 1"
    with pytest.raises(DomainError, match="U\\+001B"):
        check_text("a\n\x1bb", multiline=True)


def test_rows_lose_their_control_characters_and_one_line_fields_keep_their_words_apart():
    assert clean_text("ca\x07ll\x1b[31m me") == "call[31m me"
    assert clean_text("two\nlines\tand\r\nmore") == "two lines and  more"
    assert clean_text("two\nlines\x0b", multiline=True) == "two\nlines"
    assert clean_text("\ud800x\ufffe") == "x"
    assert clean_text("total \u202e05.001\u202c", multiline=True) == "total 05.001"


def test_ordinary_text_is_the_same_object_unchanged():
    text = "Müller & Söhne GmbH · 東京 · שלום · مرحبا · café\u200d 💶 \ue000"
    assert check_text(text) is text
    assert clean_text(text) is text
    assert not has_unsafe(text)
    assert unsafe_character(text) is None


@given(text=st.text(max_size=60), multiline=st.booleans())
def test_any_text_is_refused_or_passes_as_is_and_cleaning_leaves_nothing_unsafe(text, multiline):
    bad = any(unsafe(c, multiline=multiline) for c in text)
    if bad:
        with pytest.raises(DomainError):
            check_text(text, field="f", multiline=multiline)
    else:
        assert check_text(text, field="f", multiline=multiline) == text
    cleaned = clean_text(text, multiline=multiline)
    assert not any(unsafe(c, multiline=multiline) for c in cleaned)
    assert check_text(cleaned, multiline=multiline) == cleaned
    assert has_unsafe(text, multiline=multiline) == bad


@given(text=PRINTABLE)
def test_printable_unicode_is_kept_unchanged(text):
    assert check_text(text) == text
    assert clean_text(text) == text
    assert clean_text(text, multiline=True) == text
