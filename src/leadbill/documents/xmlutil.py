"""Small helpers the CII and UBL writers share: decimals as the standards write them, element building."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from xml.etree import ElementTree as ET

from leadbill.domain.money import exponent


def amount(minor: int, currency: str) -> str:
    """An amount with exactly the currency's decimals (EN 16931 BR-DEC rules: at most two)."""
    places = exponent(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"


def number(value: Decimal) -> str:
    """A quantity, price or rate without exponent notation or trailing zeros ("19", "2.5", "0.125")."""
    return f"{value.normalize():f}"


def iso(day: date) -> str:
    return day.isoformat()


def compact(day: date) -> str:
    """UN/CEFACT format 102 (CCYYMMDD)."""
    return day.strftime("%Y%m%d")


class Builder:
    """Namespaced ElementTree building that skips empty values (Peppol R008: no empty elements)."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.ns = namespaces
        for prefix, uri in namespaces.items():
            ET.register_namespace(prefix, uri)

    def tag(self, name: str) -> str:
        prefix, _, local = name.partition(":")
        return f"{{{self.ns[prefix]}}}{local}"

    def root(self, name: str) -> ET.Element:
        return ET.Element(self.tag(name))

    def add(self, parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, self.tag(name), {k: v for k, v in attrs.items() if v})
        if text is not None:
            el.text = text
        return el

    def opt(self, parent: ET.Element, name: str, text: str | None, **attrs: str) -> ET.Element | None:
        """Add the element only when it has a value."""
        if text is None or text == "":
            return None
        return self.add(parent, name, text, **attrs)

    @staticmethod
    def bytes(root: ET.Element) -> bytes:
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)
