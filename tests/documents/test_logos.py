"""Hostile logos and renders: refused quickly at the door, and no render holds a worker past its limit."""

from __future__ import annotations

import dataclasses
import io
import os
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from leadbill.documents import pdf
from leadbill.documents.assets import asset_store
from leadbill.documents.build import document_of
from leadbill.documents.logos import LOGO_MAX_BYTES, logo_check, logo_read
from leadbill.documents.models import Asset
from leadbill.documents.pdf import RenderError, render_pdf
from leadbill.documents.services import document_file
from leadbill.domain.errors import DomainError
from tests.documents.conftest import ACTOR

DEMO_LOGOS = Path(__file__).resolve().parents[2] / "src" / "leadbill" / "demo" / "logos"
SVG = 'xmlns="http://www.w3.org/2000/svg"'
# The reported shape: a few hundred bytes, one enormous blur (held a worker 30 s per render).
BLUR = (
    f'<svg {SVG} width="4000" height="4000" viewBox="0 0 4000 4000"><defs><filter id="f" x="-50%" y="-50%" '
    'width="200%" height="200%"><feGaussianBlur stdDeviation="100000"/></filter></defs>'
    '<rect width="4000" height="4000" fill="red" filter="url(#f)"/></svg>'
).encode()
MISSING_IMAGE = f'<svg {SVG} width="10" height="10"><image href="missing.png" width="10" height="10"/></svg>'.encode()
RELATIVE_USE = (
    f'<svg {SVG} xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="logo-{"0" * 64}.svg#a"/></svg>'
).encode()
RELATIVE_FILL = f'<svg {SVG}><rect width="9" height="9" fill="url(../assets/other.svg#g)"/></svg>'.encode()


def refused(content: bytes, name: str = "logo.svg") -> tuple[str, float]:
    started = time.perf_counter()
    with pytest.raises(DomainError) as exc:
        logo_check(content, name)
    return str(exc.value), time.perf_counter() - started


def test_the_blur_logo_is_refused_in_milliseconds_naming_the_filter():
    message, seconds = refused(BLUR)
    assert message.startswith("logo.svg: an SVG logo may not contain <filter>") and seconds < 0.1
    bare = f'<svg {SVG}><feGaussianBlur stdDeviation="1e9"/></svg>'.encode()
    assert "<feGaussianBlur>" in refused(bare)[0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (MISSING_IMAGE, "may not contain <image>"),
        (RELATIVE_USE, "points outside the logo"),
        (RELATIVE_FILL, 'fill="url(../assets/other.svg#g)"> points outside the logo'),
        (f'<svg {SVG}><rect width="1" height="1" style="fill: url(http://x/g.svg#a)"/></svg>'.encode(), "outside"),
        (f"<svg {SVG}><script>alert(1)</script></svg>".encode(), "may not contain scripts or event handlers"),
        (f'<svg {SVG} onload="x()"/>'.encode(), "scripts or event handlers (onload on <svg>)"),
        (f"<svg {SVG}><foreignObject/></svg>".encode(), "<foreignObject>"),
        (f"<svg {SVG}><style>rect {{fill: url(x.svg)}}</style></svg>".encode(), "<style>"),
        (f'<svg {SVG}><rect width="1" height="1" filter="url(#f)"/></svg>'.encode(), "attribute filter"),
        (f'<svg {SVG}><use href="#nowhere"/></svg>'.encode(), "refers to #nowhere, which is not in the logo"),
        (f'<svg {SVG}><g id="a"><use href="#a"/></g></svg>'.encode(), "refers to itself"),
        (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg/>', "may not declare a DOCTYPE"),
        (b'<?xml-stylesheet href="http://x/a.css"?><svg xmlns="http://www.w3.org/2000/svg"/>', "processing"),
        (b'<svg width="10"/>', 'needs xmlns="http://www.w3.org/2000/svg"'),
    ],
)
def test_svg_outside_the_allowlist_is_refused_naming_what(content: bytes, expected: str):
    message, seconds = refused(content)
    assert expected in message and seconds < 0.1


def test_use_cannot_multiply_a_small_file_into_billions_of_shapes():
    layers = "".join(f'<g id="l{i + 1}">{f'<use href="#l{i}"/>' * 10}</g>' for i in range(1, 9))
    bomb = f'<svg {SVG}><defs><rect id="l1" width="1" height="1"/>{layers}</defs><use href="#l9"/></svg>'.encode()
    message, seconds = refused(bomb)
    assert "may draw at most" in message and seconds < 0.1


def test_plain_logos_pass_the_demos_and_a_drawing_programs_with_its_metadata():
    for path in DEMO_LOGOS.glob("*.svg"):
        assert logo_check(path.read_bytes(), path.name).media_type == "image/svg+xml"
    inkscape = (
        f'<svg {SVG} xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
        'xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<sodipodi:namedview id="base" inkscape:zoom="1"/><metadata><rdf:RDF><rdf:Description/></rdf:RDF></metadata>'
        '<defs><linearGradient id="a"><stop offset="0" stop-color="#f00"/></linearGradient>'
        '<linearGradient id="b" xlink:href="#a" x1="0" x2="1"/><clipPath id="c"><rect width="5" height="5"/></clipPath>'
        '</defs><g inkscape:label="Layer 1" clip-path="url(#c)"><path d="M0 0h9v9z" style="fill:url(#b);stroke:none"/>'
        '<use xlink:href="#p"/><circle id="p" r="2"/></g></svg>'
    ).encode()
    assert logo_check(inkscape, "drawn.svg").sha256


def test_dev_zero_and_other_non_files_are_refused_before_any_read(tmp_path):
    started = time.perf_counter()
    with pytest.raises(DomainError, match="zero is not a regular file"):
        logo_read(Path("/dev/zero"))
    fifo = tmp_path / "pipe.svg"
    os.mkfifo(fifo)  # nobody writes: reading it would block for ever
    with pytest.raises(DomainError, match=r"pipe\.svg is not a regular file"):
        logo_read(fifo)
    with pytest.raises(DomainError, match="is not a regular file"):
        logo_read(tmp_path)
    big = tmp_path / "big.svg"
    with big.open("wb") as f:
        f.truncate(LOGO_MAX_BYTES * 50)  # sparse: 50 MB that would be read whole before
    with pytest.raises(DomainError, match="a logo may have at most 1,000,000"):
        logo_read(big)
    assert time.perf_counter() - started < 0.1


@pytest.mark.django_db
def test_the_store_every_logo_passes_through_refuses_hostile_ones():
    with pytest.raises(DomainError, match="<filter>"):
        asset_store(BLUR, "image/svg+xml")
    with pytest.raises(DomainError, match="is image/svg"):
        asset_store((DEMO_LOGOS / "leadforge.svg").read_bytes(), "image/png")
    assert not Asset.objects.exists()


def _with_logo(history, content: bytes):
    """The domestic invoice as if its seller's logo were `content`, stored as it was before the check."""
    import hashlib

    sha = hashlib.sha256(content).hexdigest()
    Asset.objects.create(sha256=sha, media_type="image/svg+xml", content=content)
    doc = document_of(history.domestic)
    return dataclasses.replace(doc, seller=dataclasses.replace(doc.seller, logo_sha256=sha))


@pytest.mark.django_db
def test_a_hostile_logo_stored_before_the_check_fails_the_render_quickly_with_a_domain_error(history):
    doc = _with_logo(history, BLUR)
    started = time.perf_counter()
    with pytest.raises(RenderError, match=r"the seller's logo: an SVG logo may not contain <filter>"):
        render_pdf(doc)
    assert time.perf_counter() - started < 0.5


@pytest.mark.django_db
def test_the_demo_logo_is_drawn_in_the_pdf(history):
    logo = (DEMO_LOGOS / "acme-eu.svg").read_bytes()
    doc = document_of(history.domestic)
    with_logo = dataclasses.replace(
        doc, seller=dataclasses.replace(doc.seller, logo_sha256=asset_store(logo, "image/svg+xml"))
    )
    without = dataclasses.replace(doc, seller=dataclasses.replace(doc.seller, logo_sha256=""))
    drawn, plain = render_pdf(with_logo), render_pdf(without)
    assert drawn != plain and len(drawn) > len(plain)
    assert history.domestic.number in PdfReader(io.BytesIO(drawn)).pages[0].extract_text()


@pytest.mark.django_db
def test_a_render_cannot_reach_another_documents_logo(history):
    """Each render's Typst root holds its own files only: a name from an earlier render finds nothing."""
    logo = (DEMO_LOGOS / "acme-us.svg").read_bytes()
    sha = asset_store(logo, "image/svg+xml")
    doc = document_of(history.domestic)
    render_pdf(dataclasses.replace(doc, seller=dataclasses.replace(doc.seller, logo_sha256=sha)))
    import json

    stolen = {**pdf.payload(doc), "logo": f"logo-{sha}.svg"}  # as a relative reference would name it
    with pytest.raises(RenderError, match="not found"):
        pdf.workspace().compile("invoice", {"doc": json.dumps(stolen)}, when=pdf._timestamp(doc))


@pytest.mark.django_db
def test_a_render_past_the_time_limit_is_stopped_with_a_domain_error_naming_the_logo(history, settings, monkeypatch):
    """A render that takes longer than the limit (here one that never ends) is stopped at the limit."""
    from tests.documents import slow_render

    doc = _with_logo(history, (DEMO_LOGOS / "acme-eu.svg").read_bytes())
    render_pdf(doc)  # a render process is running and warm
    monkeypatch.setattr(pdf.typst_worker, "compile_job", slow_render.hang)
    settings.LEADBILL_RENDER_TIMEOUT = 0.3
    started = time.perf_counter()
    with pytest.raises(RenderError) as exc:
        render_pdf(doc)
    assert time.perf_counter() - started < 1.5
    assert "took longer than 0.3 s and was stopped" in str(exc.value)
    assert "the seller's logo or the document" in str(exc.value) and doc.number in str(exc.value)
    monkeypatch.undo()
    settings.LEADBILL_RENDER_TIMEOUT = 20
    assert render_pdf(doc).startswith(b"%PDF")  # the next render gets a fresh process


@pytest.mark.django_db
def test_a_hung_renderer_is_killed_at_the_limit_and_the_download_is_a_domain_error(
    history, settings, monkeypatch, tmp_path
):
    """A renderer that never answers stands in for Typst stuck on a costly drawing."""
    from tests.documents import slow_render

    monkeypatch.setattr(pdf.typst_worker, "compile_job", slow_render.hang)
    settings.LEADBILL_RENDER_TIMEOUT = 0.5
    started = time.perf_counter()
    with pytest.raises(DomainError, match=r"took longer than 0\.5 s and was stopped"):
        document_file(history.domestic, "pdf", actor=ACTOR)
    assert 0.4 < time.perf_counter() - started < 2
    monkeypatch.undo()
    assert document_file(history.domestic, "pdf", actor=ACTOR).content.startswith(b"%PDF")  # a fresh process


EXIT_RIGHT_AFTER_A_RENDER = """
import os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "leadbill.config.settings"
django.setup()
from leadbill.documents import pdf
workspace = pdf.workspace()
print(workspace.run(os.getpid, (), limit=60))  # the first ready process answers; the other may still be starting
print(" ".join(str(child.pid) for child in __import__("multiprocessing").active_children()))
"""


def test_a_command_that_exits_right_after_a_render_leaves_no_traceback_and_no_render_process(tmp_path):
    """Exiting while a render process is still starting used to leave a half-printed traceback on stderr."""
    import subprocess
    import sys

    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", EXIT_RIGHT_AFTER_A_RENDER],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "LEADBILL_HOME": str(tmp_path)},
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        children = [int(pid) for pid in done.stdout.splitlines()[1].split()]
        assert len(children) == pdf.RENDER_PROCESSES
        for pid in children:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
