"""Partner writes through every interface: the console and portal site, and the API world."""

from tests.api.conftest import world  # noqa: F401
from tests.webworld import site  # noqa: F401
