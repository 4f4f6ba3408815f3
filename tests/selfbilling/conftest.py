"""The payouts tests' world (an entity, a buyer, a supplier and 30 October leads): see tests/selfbilling/making.py."""

from tests.payouts.conftest import world  # noqa: F401
from tests.webworld import site  # noqa: F401
