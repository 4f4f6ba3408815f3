"""The README stays true: its set-up example loads, its commands exist, and its walk-through runs as written."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from leadbill.cli.main import build_parser, setup_django

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def walkthrough_lines(text: str) -> list[str]:
    """The lines between the walk-through markers, exactly as a reader copies them."""
    (section,) = re.findall(r"<!-- walkthrough:start -->\n(.*?)<!-- walkthrough:end -->", text, re.S)
    (block,) = shell_blocks(section)
    return [line for line in block.splitlines() if line.strip()]


def leadbill_commands(block: str) -> list[list[str]]:
    """Every `leadbill ...` command of a shell block (after `&&` too), without comments or env prefixes."""
    commands = []
    for line in block.splitlines():
        for part in line.split("&&"):
            if not re.match(r"\s*([A-Z_]+=\S+\s+)*leadbill\s", part):
                continue
            words = shlex.split(part, comments=True)
            while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                words = words[1:]
            if words and words[0] == "leadbill":
                commands.append(words)
    return commands


@pytest.mark.django_db
def test_the_readme_set_up_example_loads_and_reloading_it_changes_nothing():
    from leadbill.loader.services import setup_load, setup_read

    (block,) = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    first = setup_load(actor="test:readme", document=setup_read(block))
    assert first.total("created") > 0
    again = setup_load(actor="test:readme", document=setup_read(block))
    assert again.total("created") == again.total("updated") == 0


def test_every_leadbill_command_in_the_readme_parses():
    setup_django()
    parser = build_parser()
    commands = [c for block in shell_blocks(README.read_text()) for c in leadbill_commands(block)]
    assert len(commands) >= 40
    for words in commands:
        parser.parse_args([os.path.expandvars(w) for w in words[1:]])  # SystemExit on an unknown command or option


def test_the_walkthrough_runs_as_written_on_a_fresh_home(tmp_path):
    """Each line of the README's walk-through, run by the real command in a home that does not exist yet."""
    lines = walkthrough_lines(README.read_text())
    assert lines[0].startswith("export LEADBILL_HOME="), "the walk-through starts by choosing a fresh home"
    home = tmp_path / "walkthrough"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LEADBILL_HOME")},
        "LEADBILL_HOME": str(home),
        "COLUMNS": "80",
        "LEADBILL_TASK_BACKEND": "inline",
    }
    outputs: dict[str, str] = {}
    tables = ""
    for line in lines[1:]:
        words = shlex.split(line, comments=True)
        assert words[0] == "leadbill", f"only leadbill commands in the walk-through: {line}"
        args = [os.path.expandvars(w.replace("$LEADBILL_HOME", str(home))) for w in words[1:]]
        done = subprocess.run(
            [sys.executable, "-m", "leadbill", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{line}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, f"{line}\n{done.stderr}"
        assert "Task id=" not in done.stdout + done.stderr, f"{line}\n{done.stdout}\n{done.stderr}"
        outputs[" ".join(words[1:3])] = outputs.get(" ".join(words[1:3]), "") + done.stdout + done.stderr
        if words[1] in ("run", "invoices", "returns") and words[2] in ("preview", "issue", "list", "show"):
            tables += done.stdout

    # The March totals the comments promise.
    assert "2 documents would be issued, total 36.00 USD" in outputs["run preview"]
    assert "draft-1" in outputs["run issue"] and "draft-2" in outputs["run issue"]
    assert "Issued ACME-000001: invoice to blue-river, 29.75 USD" in outputs["invoices issue"]
    assert "Issued ACME-000002: receipt to lakeside-direct, 6.25 USD" in outputs["invoices issue"]
    assert "credit note ACME-CN-000001 reverses it" in outputs["invoices void"]
    assert re.search(r"ACME-000003 +invoice +blue-river +11 +1 +29\.75 USD", outputs["run issue"])
    assert "paid 20.00 USD of 29.75 USD, 9.75 USD still due" in outputs["invoices pay"]
    assert "paid 29.75 USD of 29.75 USD — paid" in outputs["invoices pay"]
    assert "Credit note ACME-CN-000002 issued: -5.00 USD" in outputs["invoices credit-note"]
    assert "lakeside-direct: balance 93.75 USD" in outputs["balance lakeside-direct"]
    for name in ("ACME-000003.pdf", "ACME-000003-facturx.pdf", "ACME-000003-ubl.xml", "leads.csv"):
        assert (home / name).stat().st_size > 0, name
    report = (home / "leads.csv").read_text().splitlines()
    assert len(report) == 1 + 12  # the header and every delivered lead of March, the returned one included
    assert list((home / "mail").iterdir()), "the invitation was written to the home's mail folder"

    # Read at 80 columns, the tables fit and never cut a document number or an amount.
    assert max(len(row) for row in tables.splitlines()) <= 80
    assert "…" not in tables
    for number in ("ACME-000001", "ACME-000002", "ACME-000003", "ACME-CN-000001", "ACME-CN-000002", "draft-1"):
        assert re.search(rf"(^|\s){number}(\s|$)", tables, re.M), number
    for money in ("29.75 USD", "6.25 USD", "-29.75 USD", "-5.00 USD", "36.00 USD"):
        assert re.search(rf"(^|\s){re.escape(money)}(\s|$)", tables, re.M), money
