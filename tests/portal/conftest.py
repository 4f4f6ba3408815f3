"""Console and portal fixtures: see tests/webworld.py."""

from tests.payouts.conftest import world  # noqa: F401
from tests.webworld import site  # noqa: F401
