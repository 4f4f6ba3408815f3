"""Ids and counts typed on the command line go through the one bounded reader of whole numbers."""

from __future__ import annotations

import argparse

import pytest

from leadbill.cli.arguments import whole, whole_from_env


def test_an_id_in_ascii_digits_is_read():
    assert whole("42") == 42 and whole(" 7 ") == 7


@pytest.mark.parametrize("text", ["²", "٣", "-1", "1.5", "", "9" * 19])
def test_unicode_digits_signs_fractions_and_long_numbers_are_refused_by_name(text):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a whole number"):
        whole(text)


def test_a_default_from_the_environment_names_the_variable_when_bad(monkeypatch):
    monkeypatch.setenv("LEADBILL_WORKERS", "3")
    assert whole_from_env("LEADBILL_WORKERS", 2) == 3
    monkeypatch.setenv("LEADBILL_WORKERS", "٣")
    with pytest.raises(SystemExit, match="LEADBILL_WORKERS"):
        whole_from_env("LEADBILL_WORKERS", 2)
