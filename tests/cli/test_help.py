"""Every `leadbill` command, sub-command, option and argument explains itself in `--help`.

The parser tree is walked, not listed by hand, so an option added without help text
(or a sub-command without a line in its parent's listing) fails here, by name.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from leadbill.cli.main import build_parser, setup_django

CommandPath = tuple[str, ...]


def _parsers(
    parser: argparse.ArgumentParser, path: CommandPath = ()
) -> Iterator[tuple[CommandPath, argparse.ArgumentParser]]:
    """The parser and every sub-parser below it, each with its command path (() is `leadbill` itself)."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


def _tree() -> list[tuple[CommandPath, argparse.ArgumentParser]]:
    setup_django()  # the command modules import models
    return list(_parsers(build_parser()))


def _name(path: CommandPath) -> str:
    return " ".join(("leadbill", *path))


def _option(action: argparse.Action) -> str:
    return "/".join(action.option_strings) or (action.metavar if isinstance(action.metavar, str) else action.dest)


TREE = _tree()
COMMANDS = [path for path, _ in TREE if path]


def test_the_walk_finds_the_whole_tree():
    names = {_name(path) for path in COMMANDS}
    assert {"leadbill invoices pay", "leadbill payouts cancel", "leadbill import deliveries"} <= names
    assert len(COMMANDS) > 50


def test_every_option_and_argument_has_help_text():
    missing = []
    for path, parser in TREE:
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                # The listing: each sub-command needs its line under its parent.
                listed = {choice.dest: choice.help for choice in action._choices_actions}
                missing += [
                    f"{_name((*path, name))} (no help= in its add_parser)"
                    for name in action.choices
                    if not (listed.get(name) or "").strip()
                ]
                continue
            if not (action.help or "").strip():
                missing.append(f"{_name(path)} {_option(action)}")
    assert not missing, "no help text for:\n  " + "\n  ".join(missing)


@pytest.mark.parametrize("path", COMMANDS, ids=_name)
def test_help_of_every_command_exits_0_with_usage(path, capsys):
    parser = dict(TREE)[path]
    if not parser.add_help:
        # `leadbill manage` hands every argument on to Django; it has no --help of its own.
        assert parser.format_help().startswith(f"usage: {_name(path)}")
        return
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*path, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {_name(path)}"), out
    assert "-h, --help" in out
