"""What runs inside the render processes of `leadbill.documents.pdf` (a pebble process pool).

Typst's compile is one native call that no thread can interrupt. Run in a pool process, a
render past its time limit is ended by pebble, which kills that process and starts another.
The module imports nothing of Leadbill or Django, so a process spawned for it starts quickly.

Each process compiles in a root folder of its own that, while a job compiles, holds the
templates and that job's files (its logo) only: files of an earlier job are removed first. So
nothing a document names can reach another document's (another tenant's) files.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
import unicodedata
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}\Z")

# Text no font draws. PDF/A forbids a missing glyph: Typst refuses the whole document and names
# the first text it could not draw. So before a document compiles, the characters it prints that
# this process has not yet seen are probed on a one-page probe (glyphs.typ, ~1 ms per missing
# character instead of a whole document per character); those no font draws are printed as
# REPLACEMENT, which the fallback fonts draw. A cluster that fails only in the document (a
# combination no single font has) is replaced the same way, and the document compiles again.
# Only the JSON inputs the template prints change: the attached Factur-X XML keeps the exact text.
NO_GLYPH = re.compile(r'the text `"(?P<text>(?:[^"\\]|\\.)*?)"` could not be displayed', re.S)
RUST_ESCAPE = re.compile(r"\\(?:u\{(?P<hex>[0-9a-fA-F]{1,6})\}|(?P<char>.))", re.S)
RUST_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}
REPLACEMENT = "?"  # in Source Sans Pro itself: a replacement must never be what fails (U+FFFD did, in some styles)
SHOWN_INPUTS = frozenset({"doc", "report", "statement", "ratecard"})
PROBE = "glyphs"
MARKS = frozenset({"Mn", "Me", "Mc", "Cf", "Sk"})  # what clusters onto the character before it
MAX_MISSING = 4096  # texts no font draws, per render; the render's time limit bounds it too
# Probes per render. A document with more characters no font draws (a page of CJK) stops probing
# there and shows every character still unknown as REPLACEMENT, for this render only: ~0.3 s at
# most instead of ~4 ms per character, so no text can hold a renderer near its time limit.
MAX_PROBES = 64


class Failed(Exception):
    """Typst refused the document (or a file it names); the message says why."""


class _State:
    root: Path
    compilers: dict[str, Any]
    present: dict[str, bytes]
    drawn: set[str]
    missing: set[str]


_state: _State | None = None


def start(templates_dir: str, font_dir: str, ready_dir: str) -> None:
    """The pool's initializer: fonts and one compiler per template, loaded once per process.

    Ends by leaving a file named by its pid in `ready_dir`, so the parent knows it may stop
    this process without cutting its start short.
    """
    global _state
    warnings.simplefilter("ignore")
    import typst

    state = _State()
    state.root = Path(tempfile.mkdtemp(prefix="leadbill-typst-"))  # this process's own
    atexit.register(shutil.rmtree, state.root, ignore_errors=True)
    shutil.copytree(templates_dir, state.root, dirs_exist_ok=True)
    # Typst's own fonts (DejaVu Sans Mono, Libertinus Serif, New Computer Modern) are the fallback
    # for what Source Sans Pro lacks (ſ, U+FFFD, box drawing, …); system fonts never, so a render
    # is the same on every machine.
    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=True, font_paths=[font_dir])
    state.compilers = {  # one per template: a compiler given its input per call is slower by ~1.5 ms
        path.stem: typst.Compiler(str(path), root=str(state.root), font_paths=fonts)
        for path in state.root.glob("*.typ")
    }
    state.present = {}
    state.drawn = set()
    state.missing = set()
    _state = state
    Path(ready_dir, str(os.getpid())).touch()


def compile_job(template: str, inputs: dict[str, str], timestamp: float, tags: bool, files: dict[str, bytes]) -> bytes:
    """The PDF of `template` with exactly `files` beside the templates; raises Failed with Typst's reason.

    Files the previous job left and this one does not name are removed; one it names again
    (the same logo, by its hash) stays, so Typst reuses its parse of it.
    """
    import typst

    assert _state is not None, "start() runs first (the pool's initializer)"
    root, present = _state.root, _state.present
    for name in [n for n in present if files.get(n) != present[n]]:
        (root / name).unlink(missing_ok=True)
        del present[name]
    for name, content in files.items():
        if name in present:
            continue
        if not SAFE_NAME.match(name) or (root / name).exists():
            raise Failed(f"bad file name {name!r}")
        (root / name).write_bytes(content)
        present[name] = content
    shown = {key: json.loads(value) for key, value in inputs.items() if key in SHOWN_INPUTS}
    unprobed = _probe({char for value in shown.values() for text in _texts(value) for char in text})
    for _ in range(MAX_MISSING):
        if _state.missing or unprobed:
            hidden = _state.missing | unprobed
            inputs = {**inputs, **{key: json.dumps(_substitute(value, hidden)) for key, value in shown.items()}}
        try:
            result = _state.compilers[template].compile(
                sys_inputs=inputs,
                pdf_standards=["a-3b"],
                timestamp=datetime.fromtimestamp(timestamp, UTC),
                format="pdf",
                pdf_tags=tags,
            )
        except typst.TypstError as exc:
            missing = _no_glyph(exc)
            missing = missing.strip() if missing else None
            if missing and shown and REPLACEMENT not in missing:
                texts = [text for value in shown.values() for text in _texts(value)]
                # A text the fonts draw alone ("0") fails only with the marks after it (0 + U+20E3):
                # those sequences are replaced, never the plain character everywhere.
                wanted = _with_marks(missing, texts) if set(missing) <= _state.drawn else {missing}
                if wanted - _state.missing:
                    _state.missing |= wanted
                    continue
            raise Failed(_message(exc)) from None
        assert isinstance(result, bytes)
        return result
    raise Failed(f"more than {MAX_MISSING} different texts no font can draw")


def _probe(chars: set[str]) -> set[str]:
    """Sort `chars` not seen before into drawn and missing, one probe compile per missing one.

    Returns the characters left unknown after MAX_PROBES probes (to be shown as REPLACEMENT
    in this render, not remembered: some of them may be drawable).
    """
    import typst

    assert _state is not None
    unknown = chars - _state.drawn - _state.missing - {REPLACEMENT}
    for _ in range(MAX_PROBES):
        if not unknown:
            return set()
        try:
            _state.compilers[PROBE].compile(
                sys_inputs={"chars": json.dumps(sorted(unknown))}, pdf_standards=["a-3b"], format="pdf"
            )
        except typst.TypstError as exc:
            missing = _no_glyph(exc)
            # only what the message names, never blanks: a cluster may carry a space or a line break
            # that the fonts draw well, and a space taken for missing would be replaced everywhere
            if not missing or not (found := {c for c in missing if not c.isspace()} & unknown):
                raise Failed(_message(exc)) from None
            if len(found) > 1:  # a cluster formed across probe lines (0 + U+20E3): only the ones failing alone
                alone = {c for c in found if not _draws(c)}
                if not alone:  # each draws alone, only the combination fails: that text, not its characters
                    _state.missing.add(missing.strip())
                    _state.drawn |= found
                    unknown -= found
                    continue
                found = alone
            _state.missing |= found
            unknown -= found
            continue
        _state.drawn |= unknown
        return set()
    return unknown


def _with_marks(text: str, texts: list[str]) -> set[str]:
    """Each occurrence of `text` in `texts` with the combining marks and format characters after it."""
    found: set[str] = set()
    for item in texts:
        start = item.find(text)
        while start >= 0:
            end = start + len(text)
            while end < len(item) and unicodedata.category(item[end]) in MARKS:
                end += 1
            if end > start + len(text):
                found.add(item[start:end])
            start = item.find(text, start + 1)
    return found


def _draws(char: str) -> bool:
    """Whether the fonts draw `char` on its own (one probe compile)."""
    import typst

    assert _state is not None
    try:
        _state.compilers[PROBE].compile(sys_inputs={"chars": json.dumps([char])}, pdf_standards=["a-3b"], format="pdf")
    except typst.TypstError:
        return False
    return True


def _no_glyph(exc: Any) -> str | None:
    """The text Typst names as one no font can draw (its Rust escapes undone), or None."""
    found = NO_GLYPH.search(getattr(exc, "message", None) or str(exc))
    if found is None:
        return None

    def undo(escape: re.Match[str]) -> str:
        if escape["hex"]:
            return chr(int(escape["hex"], 16))
        return RUST_ESCAPES.get(escape["char"], escape["char"])

    return RUST_ESCAPE.sub(undo, found["text"]) or None


def _message(exc: Any) -> str:
    hints = "; ".join(getattr(exc, "hints", None) or [])
    message = (getattr(exc, "message", None) or str(exc)).strip()
    return message + (f" (hint: {hints})" if hints else "")


def _texts(item: Any) -> list[str]:
    """Every string in a JSON value."""
    if isinstance(item, str):
        return [item]
    if isinstance(item, list):
        return [text for x in item for text in _texts(x)]
    if isinstance(item, dict):
        return [text for x in item.values() for text in _texts(x)]
    return []


def _substitute(item: Any, missing: set[str]) -> Any:
    """`item` (a JSON value) with every text no font can draw shown as REPLACEMENT (longest first).

    The combining marks after a replaced text go with it: a mark on the replacement would be a
    new cluster no font draws.
    """
    if isinstance(item, str):
        present = sorted((text for text in missing if text in item), key=len, reverse=True)
        if not present:
            return item
        out, i = [], 0
        while i < len(item):
            text = next((t for t in present if item.startswith(t, i)), None)
            if text is None:
                out.append(item[i])
                i += 1
                continue
            i += len(text)
            while i < len(item) and unicodedata.category(item[i]) in MARKS:
                i += 1
            out.append(REPLACEMENT)
        return "".join(out)
    if isinstance(item, list):
        return [_substitute(x, missing) for x in item]
    if isinstance(item, dict):
        return {key: _substitute(x, missing) for key, x in item.items()}
    return item
