"""Console and portal fixtures: see tests/webworld.py."""

from tests.webworld import site  # noqa: F401
