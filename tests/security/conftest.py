"""Hostile input through every interface: the API world and the console and portal site."""

from tests.api.conftest import world  # noqa: F401
from tests.webworld import site  # noqa: F401
