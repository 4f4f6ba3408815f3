from tests.invoicing.conftest import buyer, entity, feb, jan  # noqa: F401
from tests.webworld import site  # noqa: F401
