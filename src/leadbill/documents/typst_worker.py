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
import os
import re
import shutil
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}\Z")


class Failed(Exception):
    """Typst refused the document (or a file it names); the message says why."""


class _State:
    root: Path
    compilers: dict[str, Any]
    present: dict[str, bytes]


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
    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[font_dir])
    state.compilers = {  # one per template: a compiler given its input per call is slower by ~1.5 ms
        path.stem: typst.Compiler(str(path), root=str(state.root), font_paths=fonts)
        for path in state.root.glob("*.typ")
    }
    state.present = {}
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
    try:
        result = _state.compilers[template].compile(
            sys_inputs=inputs,
            pdf_standards=["a-3b"],
            timestamp=datetime.fromtimestamp(timestamp, UTC),
            format="pdf",
            pdf_tags=tags,
        )
    except typst.TypstError as exc:
        hints = "; ".join(getattr(exc, "hints", None) or [])
        message = (getattr(exc, "message", None) or str(exc)).strip()
        raise Failed(message + (f" (hint: {hints})" if hints else "")) from None
    assert isinstance(result, bytes)
    return result
