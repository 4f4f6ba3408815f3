"""Shared by the loader tests: the shipped example file and small edits of it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "setup.yaml"
DOC = ROOT / "docs" / "setup-file.md"

# Paths into the example file, so a test names what it breaks.
BLUE_RIVER_LAST_TIER = "entities[0].partners[0].plans[1].tiers[2].price"
SONNENSCHEIN_LAST_TIER = "entities[1].partners[0].plans[0].tiers[1].price"


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def edited(old: str, new: str, text: str | None = None) -> str:
    """The example with one exact, unique piece of text replaced."""
    text = example_text() if text is None else text
    assert text.count(old) == 1, f"{old!r} is not unique in the example"
    return text.replace(old, new)


def minimal(plans: str = "", partner_extra: str = "", entity_extra: str = "") -> str:
    """A one-entity, one-partner file; `plans` is the YAML flow list of the partner's plans."""
    return f"""
entities:
  - slug: unit
    legal_name: Unit Ltd
    address: {{country: US}}
    currency: USD
    timezone: America/New_York
    invoice_prefix: U-
    lead_types: [{{code: auto, name: Auto}}]
{entity_extra}
    partners:
      - code: buyer
        name: Buyer
        profiles: [{{code: ny, name: New York}}]
{partner_extra}
        plans: [{plans}]
"""
