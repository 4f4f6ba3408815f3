"""XML from outside (a supplier's invoice, a bank statement), read with one hardened parser.

The bytes go to lxml (which decodes UTF-8, UTF-16 with or without a byte order mark and declared
encodings) before anything is checked. A first pass stops at the DOCTYPE, before its
declarations are read, so no entity is ever declared, fetched or expanded; the tree is then
built with entities, DTDs and network off, and its doctype checked again.
"""

from __future__ import annotations

from typing import Any

from leadbill.domain.errors import DomainError


class _Stop(Exception):
    def __init__(self, doctype: bool) -> None:
        self.doctype = doctype


class _Prolog:
    """A parser target that reads only the prolog: stops at a DOCTYPE, or at the root element."""

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        raise _Stop(doctype=True)

    def start(self, tag: str, attrib: Any, nsmap: Any = None) -> None:
        raise _Stop(doctype=False)

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass

    def comment(self, text: str) -> None:
        pass

    def pi(self, target: str, data: str | None = None) -> None:
        pass

    def close(self) -> None:
        return None


def hardened_parser(target: Any = None, *, strip: bool = False) -> Any:
    """lxml's parser with entities, DTDs and network off; `strip` drops comments and PIs."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=strip, remove_pis=strip, target=target)  # fmt: skip


def safe_root(content: bytes, name: str, what: str, *, strip: bool = False) -> Any:
    """The root element of `content`; a DOCTYPE or bad XML is a DomainError naming the file (field "file")."""
    from lxml import etree

    refused = f"{name}: {what} may not declare a DOCTYPE or entities"
    try:
        etree.fromstring(content, hardened_parser(_Prolog()))
    except _Stop as stop:
        if stop.doctype:
            raise DomainError(refused, field="file") from None
    except etree.XMLSyntaxError as exc:
        raise DomainError(f"{name} is not well-formed XML ({exc})", field="file") from None
    try:
        root = etree.fromstring(content, hardened_parser(strip=strip))
    except etree.XMLSyntaxError as exc:
        raise DomainError(f"{name} is not well-formed XML ({exc})", field="file") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise DomainError(refused, field="file")
    if next(root.iter(etree.Entity), None) is not None:
        raise DomainError(refused, field="file")
    return root
