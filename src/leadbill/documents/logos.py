"""Logos: the one check every logo passes, wherever it enters (set-up file, portal, console, services).

A logo is printed by Typst on every document of its seller, and a supplier chooses its own,
so a logo is hostile input. Raster logos are decoded (Pillow) within a size in bytes and in
pixels. SVG logos are parsed with a hardened parser and checked against an allowlist of
plain drawing elements and attributes: no filters (a huge blur held a worker for 30 s per
render), no <image>, scripts or foreign objects, no reference outside the file (href and
url() only as "#id"), no style sheets, no DTD. A logo outside the list is refused, naming
the element or attribute, rather than silently cleaned: the bytes stored are the bytes
given, so their SHA-256 (the asset's address) stays the one the caller computed.

`logo_check` is that one check; `logo_read` reads a file for it without ever reading more
than the limit (and only regular files: `logo: /dev/zero` is refused before any read).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from leadbill.domain.errors import DomainError

LOGO_MAX_BYTES = 1_000_000
LOGO_MAX_PIXELS = 4096
SVG_MAX_ELEMENTS = 5_000  # as written
SVG_MAX_DRAWN = 20_000  # after expanding <use> and url(#...) references
SVG_MAX_DEPTH = 64

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Drawing programs leave their own data in their own namespaces; renderers ignore it.
EDITOR_NS = frozenset(
    {
        "http://www.inkscape.org/namespaces/inkscape",
        "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
        "http://ns.adobe.com/AdobeIllustrator/10.0/",
        "http://ns.adobe.com/Extensibility/1.0/",
        "http://ns.adobe.com/Graphs/1.0/",
        "http://ns.adobe.com/SaveForWeb/1.0/",
        "http://www.bohemiancoding.com/sketch/ns",
        "http://www.serif.com/",
    }
)

ELEMENTS = frozenset(
    {
        "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan", "defs",
        "linearGradient", "radialGradient", "stop", "title", "desc", "clipPath", "use", "metadata",
    }
)  # fmt: skip
REFUSED_WHY = {
    "script": "scripts or event handlers",
    "foreignObject": "foreign objects are not drawn in documents",
    "image": "an SVG logo must be drawn, not point at other files",
    "filter": "filters are not allowed; they can take minutes to draw",
    "style": 'style sheets are not allowed; use attributes or style="..."',
    "a": "links are not allowed",
}
INERT = frozenset({(XLINK_NS, "title"), (XLINK_NS, "type"), (XML_NS, "space"), (XML_NS, "lang")})
HREF_ELEMENTS = frozenset({"use", "linearGradient", "radialGradient"})
PRESENTATION = frozenset(
    {
        "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap",
        "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset", "opacity", "color",
        "display", "visibility", "clip-path", "clip-rule", "stop-color", "stop-opacity", "shape-rendering",
        "text-rendering", "color-interpolation", "paint-order", "vector-effect", "overflow", "transform",
        "font", "font-family", "font-size", "font-weight", "font-style", "font-variant", "font-stretch",
        "font-size-adjust", "font-kerning", "letter-spacing", "word-spacing", "text-anchor", "text-decoration",
        "dominant-baseline", "alignment-baseline", "baseline-shift", "writing-mode", "direction", "unicode-bidi",
        "white-space", "line-height", "isolation",
    }
)  # fmt: skip
ATTRIBUTES = PRESENTATION | frozenset(
    {
        "id", "class", "lang", "style", "version", "baseProfile", "width", "height", "x", "y", "viewBox",
        "preserveAspectRatio", "rx", "ry", "cx", "cy", "r", "fx", "fy", "fr", "x1", "y1", "x2", "y2", "points",
        "d", "pathLength", "offset", "gradientUnits", "gradientTransform", "spreadMethod", "clipPathUnits",
        "dx", "dy", "rotate", "textLength", "lengthAdjust", "href", "data-name", "enable-background",
    }
)  # fmt: skip
_FRAGMENT = re.compile(r"#[A-Za-z_][\w.:-]*\Z")
_URL_START = re.compile(r"url\s*\(", re.IGNORECASE)
_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Logo:
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def logo_read(path: Path, name: str | None = None) -> Logo:
    """A logo file, read without ever taking more than the limit; devices and folders are refused unread."""
    name = name or path.name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
    except OSError as exc:
        raise DomainError(f"cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DomainError(f"{name} is not a regular file; a logo must be a PNG, JPEG or SVG file")
        if info.st_size > LOGO_MAX_BYTES:
            raise DomainError(f"{name} is {info.st_size:,} bytes; a logo may have at most {LOGO_MAX_BYTES:,}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            content = f.read(LOGO_MAX_BYTES + 1)  # a file that grew since fstat still stops here
    except OSError as exc:
        raise DomainError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return logo_check(content, name)


def logo_check(content: bytes, name: str) -> Logo:
    """The one check for a logo, by its content, not its name: a real PNG or JPEG, or an SVG on the allowlist.

    Used for set-up files, uploads, the services that store logos and the renderer alike;
    the message names the file (`name`) and what is wrong with it.
    """
    if len(content) > LOGO_MAX_BYTES:
        raise DomainError(f"{name} is {len(content):,} bytes; a logo may have at most {LOGO_MAX_BYTES:,}")
    if content.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        media_type = "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"
        _check_raster(content, name)
        return Logo(media_type, content)
    head = content[:1024].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!--")) and b"<svg" in content[:4096].lower():
        _check_svg(content, name)
        return Logo("image/svg+xml", content)
    raise DomainError(f"{name} is not a PNG, JPEG or SVG image")


def _check_raster(content: bytes, name: str) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if width > LOGO_MAX_PIXELS or height > LOGO_MAX_PIXELS:
                raise DomainError(f"{name} is {width}×{height} pixels; a logo may be at most {LOGO_MAX_PIXELS} a side")
            image.load()  # decodes every pixel: a truncated or forged file fails here
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DomainError(f"{name} is not a readable image ({exc})") from None


def _parser():  # type: ignore[no-untyped-def]
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        remove_blank_text=False,
    )


def _check_svg(content: bytes, name: str) -> None:
    from lxml import etree

    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise DomainError(f"{name}: an SVG logo may not declare a DOCTYPE or entities")
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        raise DomainError(f"{name} is not well-formed SVG ({exc})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise DomainError(f"{name}: an SVG logo may not declare a DOCTYPE or entities")
    if root.tag != f"{{{SVG_NS}}}svg":
        if etree.QName(root).localname == "svg":
            raise DomainError(f'{name}: the <svg> element needs xmlns="{SVG_NS}"')
        raise DomainError(f"{name} is XML but not SVG")
    for sibling in (*root.itersiblings(preceding=True), *root.itersiblings()):
        if isinstance(sibling, etree._ProcessingInstruction):
            raise DomainError(f"{name}: an SVG logo may not contain processing instructions (<?{sibling.target} ...?>)")

    ids: dict[str, object] = {}
    refs: dict[object, list[str]] = {}  # element -> ids it draws (use href, url(#id))
    count = 0

    def walk(element, depth: int, in_metadata: bool) -> None:  # type: ignore[no-untyped-def]
        nonlocal count
        count += 1
        if count > SVG_MAX_ELEMENTS:
            raise DomainError(f"{name}: an SVG logo may have at most {SVG_MAX_ELEMENTS:,} elements")
        if depth > SVG_MAX_DEPTH:
            raise DomainError(f"{name}: an SVG logo may nest elements at most {SVG_MAX_DEPTH} deep")
        if isinstance(element, etree._ProcessingInstruction):
            raise DomainError(f"{name}: an SVG logo may not contain processing instructions (<?{element.target} ...?>)")
        if isinstance(element, etree._Comment):
            return
        if isinstance(element, etree._Entity) or not isinstance(element.tag, str):
            raise DomainError(f"{name}: an SVG logo may not contain entity references")
        qname = etree.QName(element)
        tag = qname.localname
        if in_metadata and qname.namespace != SVG_NS:
            for child in element:  # data about the drawing (RDF, Dublin Core): not drawn, any content
                walk(child, depth + 1, True)
            return
        if qname.namespace in EDITOR_NS:  # e.g. sodipodi:namedview: editor settings, never drawn
            if len(element):
                for child in element:
                    walk(child, depth + 1, True)
            return
        if qname.namespace != SVG_NS:
            shown = f"{{{qname.namespace}}}{tag}" if qname.namespace else tag
            raise DomainError(f"{name}: an SVG logo may not contain <{shown}> (only SVG drawing elements)")
        if tag not in ELEMENTS:
            why = REFUSED_WHY.get(tag) or (REFUSED_WHY["filter"] if tag.startswith("fe") else "")
            why = why or "only plain drawing is allowed: shapes, paths, text, gradients, clip paths, <use>"
            if why == "scripts or event handlers":
                raise DomainError(f"{name}: an SVG logo may not contain scripts or event handlers (<{tag}>)")
            raise DomainError(f"{name}: an SVG logo may not contain <{tag}>: {why}")
        drawn: list[str] = []
        for key, value in element.attrib.items():
            attr = etree.QName(key)
            where = f'<{tag} {attr.localname}="{_short(value)}">'
            if attr.namespace in (None, SVG_NS):
                local = attr.localname
                if local.lower().startswith("on"):
                    raise DomainError(
                        f"{name}: an SVG logo may not contain scripts or event handlers ({local} on <{tag}>)"
                    )
                if local not in ATTRIBUTES:
                    raise DomainError(f"{name}: {where}: the attribute {local} is not allowed in an SVG logo")
                if local == "href":
                    drawn.append(_fragment(name, tag, value, where))
                    continue
                if local == "style":
                    drawn += _style(name, tag, value, where)
                    continue
                drawn += _urls(name, value, where)
            elif attr.namespace == XLINK_NS and attr.localname == "href":
                drawn.append(_fragment(name, tag, value, f'<{tag} xlink:href="{_short(value)}">'))
            elif (attr.namespace, attr.localname) not in INERT and attr.namespace not in EDITOR_NS:
                raise DomainError(
                    f"{name}: the attribute {{{attr.namespace}}}{attr.localname} on <{tag}> is not allowed"
                )
        ident = element.get("id")
        if ident:
            ids[ident] = element
        if drawn:
            refs[element] = drawn
        for child in element:
            walk(child, depth + 1, in_metadata or tag == "metadata")

    walk(root, 0, False)
    _check_references(name, root, ids, refs)


def _short(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."


def _fragment(name: str, tag: str, value: str, where: str) -> str:
    """An href: only to an element of the same file ("#id"), and only where SVG draws it."""
    value = value.strip()
    if tag not in HREF_ELEMENTS:
        raise DomainError(f"{name}: {where}: only <use> and gradients may refer to other elements")
    if not _FRAGMENT.match(value):
        raise DomainError(
            f'{name}: {where} points outside the logo; an SVG logo may refer only to its own elements, as "#id"'
        )
    return value[1:]


def _urls(name: str, value: str, where: str) -> list[str]:
    """The ids a value's url(...) references name; any other url() (a file, a web address, data:) is refused."""
    if "\\" in value:
        raise DomainError(f"{name}: {where}: escapes are not allowed in an SVG logo's attributes")
    out = []
    for match in _URL.finditer(value):
        target = match.group(2).strip()
        if not _FRAGMENT.match(target):
            raise DomainError(
                f"{name}: {where} points outside the logo; url() may refer only to the logo's own elements, as url(#id)"
            )
        out.append(target[1:])
    if _URL_START.search(_URL.sub("", value)):
        raise DomainError(f"{name}: {where}: url() must be written as url(#id)")
    return out


def _style(name: str, tag: str, value: str, where: str) -> list[str]:
    """style="..." as presentation properties only (no @import, no url() outside the file)."""
    if "\\" in value or "@" in value or "/*" in value or "<" in value:
        raise DomainError(f"{name}: {where}: the style may hold only plain properties")
    out: list[str] = []
    for declaration in value.split(";"):
        if not declaration.strip():
            continue
        prop, sep, val = declaration.partition(":")
        prop = prop.strip().lower()
        if not sep or prop not in PRESENTATION:
            raise DomainError(
                f"{name}: <{tag}> style property {prop or declaration.strip()!r} is not allowed in an SVG logo"
            )
        out += _urls(name, val, where)
    return out


def _check_references(name: str, root, ids: dict[str, object], refs: dict[object, list[str]]) -> None:  # type: ignore[no-untyped-def]
    """Every reference names an element of the file, none refers to itself, and drawing stays bounded.

    <use> draws its target again: ten nested layers of ten <use> each would be 10^10 shapes.
    """
    for element, targets in refs.items():
        for target in targets:
            if target not in ids:
                tag = element.tag.rsplit("}", 1)[-1]  # type: ignore[attr-defined]
                raise DomainError(f"{name}: <{tag}> refers to #{target}, which is not in the logo")
    memo: dict[int, int] = {}
    active: set[int] = set()

    def drawn(element) -> int:  # type: ignore[no-untyped-def]
        key = id(element)
        if key in memo:
            return memo[key]
        if key in active:
            tag = element.tag.rsplit("}", 1)[-1]
            raise DomainError(f"{name}: <{tag}> refers to itself through its references")
        active.add(key)
        total = 1
        for child in element:
            if isinstance(child.tag, str):
                total += drawn(child)
        for target in refs.get(element, ()):
            total += drawn(ids[target])
            if total > SVG_MAX_DRAWN:
                raise DomainError(f"{name}: an SVG logo may draw at most {SVG_MAX_DRAWN:,} elements, counting <use>")
        active.discard(key)
        memo[key] = total
        if total > SVG_MAX_DRAWN:
            raise DomainError(f"{name}: an SVG logo may draw at most {SVG_MAX_DRAWN:,} elements, counting <use>")
        return total

    try:
        drawn(root)
    except RecursionError:
        raise DomainError(f"{name}: an SVG logo's references may not chain that deep") from None
