"""Argument types for the `leadbill` command (no Django: parsers are built before set-up)."""

from __future__ import annotations

import argparse
import os

from leadbill.domain.numbers import whole_number


def whole(text: str) -> int:
    """An id or count typed on the command line, through the one bounded reader of whole numbers."""
    value = whole_number(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (ASCII digits, at most 18)")
    return value


def whole_from_env(name: str, default: int) -> int:
    """An argument's default from the environment, read the same way; a bad value names the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = whole_number(raw)
    if value is None:
        raise SystemExit(f"leadbill: {name}={raw!r} is not a whole number")
    return value
