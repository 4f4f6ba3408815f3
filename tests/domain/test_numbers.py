"""The one reader of whole numbers from outside: ASCII digits only, bounded before conversion."""

from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain.numbers import whole_number


def test_ascii_digits_are_read_and_blanks_around_them_ignored():
    assert whole_number("42") == 42
    assert whole_number(" 007 ") == 7
    assert whole_number("999999999999999999") == 999_999_999_999_999_999


def test_unicode_digits_signs_and_decimals_are_not_whole_numbers():
    for text in ("²", "0²", "٣", "１２", "-1", "+1", "1.0", "1e3", "1 000", "", "  ", "1_000"):
        assert whole_number(text) is None, text


def test_length_is_bounded_before_any_conversion():
    assert whole_number("9" * 19) is None
    assert whole_number("9" * 1_000_000) is None
    assert whole_number("1234", max_digits=3) is None


def test_anything_but_text_is_not_a_number():
    for value in (None, 3, 3.0, b"3", ["3"]):
        assert whole_number(value) is None


@given(st.text())
def test_any_text_gives_an_int_or_none_and_never_raises(text):
    value = whole_number(text)
    if value is not None:
        assert isinstance(value, int) and value >= 0
        assert int(text.strip()) == value and text.strip().isascii()
