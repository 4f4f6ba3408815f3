"""The README stays true: its set-up example loads, its commands exist."""

import re
import shlex
from pathlib import Path

import pytest

from leadbill.cli.main import build_parser, setup_django

README = Path(__file__).resolve().parent.parent / "README.md"


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
    (block,) = re.findall(r"```sh\nleadbill migrate.*?```", README.read_text(), re.S)
    commands = [line.split("#")[0].strip() for line in block.strip("`").splitlines() if line.startswith("leadbill ")]
    assert len(commands) >= 10
    for command in commands:
        parser.parse_args(shlex.split(command)[1:])  # exits (SystemExit) on an unknown command or option
