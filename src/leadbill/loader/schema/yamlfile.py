"""The YAML of a set-up file: YAML 1.2 core scalars, exact decimals, no duplicate keys."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml

from leadbill.domain.errors import DomainError
from leadbill.domain.money import (
    MAX_DECIMAL_CHARS,
    parse_decimal,
)
from leadbill.loader.schema.problems import Problem, SetupFileError


class SetupLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with YAML 1.2 core scalars and exact decimals.

    - a number with a decimal point (`2.00`) becomes `Decimal("2.00")`, built from its
      source text, so no price or amount ever passes through a binary float;
    - only `true` and `false` are booleans (YAML 1.1 reads the country code `NO` as false);
    - only plain decimal integers are ints: `02110` stays the text "02110" (a postal code),
      not the octal number 1096;
    - dates stay text; the schema reads them in the entity's time zone;
    - a key given twice in one mapping is an error, not a silent overwrite.
    """

    # Start from no implicit resolvers; the YAML 1.2 core ones are added below.
    yaml_implicit_resolvers = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found the key {key_node.value!r} twice",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _construct_decimal(loader: SetupLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node))
    try:
        return parse_decimal(text.replace("_", ""))
    except DomainError:
        message = f"{text[:40]!r} is not an exact decimal number (at most {MAX_DECIMAL_CHARS} characters)"
        raise yaml.constructor.ConstructorError(None, None, message, node.start_mark) from None


for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?(0|[1-9][0-9]*)", "-+0123456789"),
    ("float", r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)", "-+0123456789."),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("merge", r"<<", "<"),
):
    SetupLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), list(_first))
SetupLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem("", f"not valid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
    problem = exc.problem or exc.context or "cannot read this"
    message = f"YAML syntax error at {where}: {problem.removeprefix('but ')}"
    if exc.context and exc.problem and exc.context_mark and exc.context_mark is not mark:
        context_at = f"line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        message += f" ({exc.context} at {context_at})"
    return Problem("", message)


def load_yaml(text: str) -> Any:
    """The YAML document in `text`, with decimals for numbers that have a point."""
    try:
        return yaml.load(text, Loader=SetupLoader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as exc:
        raise SetupFileError([_yaml_problem(exc)]) from None
