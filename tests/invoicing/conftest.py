from datetime import UTC, datetime

import pytest

from leadbill.domain import periods
from tests.factories import make_entity, make_partner


@pytest.fixture
def entity(db):
    return make_entity(timezone="UTC", currency="USD", invoice_prefix="INV-", credit_note_prefix="CN-")


@pytest.fixture
def buyer(entity):
    return make_partner(entity, code="blue-river", name="Blue River Insurance", currency="USD")


@pytest.fixture
def jan():
    return periods.month(2026, 1, "UTC")


@pytest.fixture
def feb():
    return periods.month(2026, 2, "UTC")


JAN_2 = datetime(2026, 1, 2, tzinfo=UTC)
FEB_2 = datetime(2026, 2, 2, tzinfo=UTC)
