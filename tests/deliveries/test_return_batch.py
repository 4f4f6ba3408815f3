"""Several returns in one call: one transaction, each through the return policy, refusals by position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Return
from leadbill.deliveries.services import MAX_RETURN_BATCH, AlreadyReturned, returns_request_many
from leadbill.domain.errors import DomainError
from tests.factories import make_deliveries, make_entity, make_partner


@pytest.fixture
def leads(db):
    entity = make_entity(timezone="UTC")
    acme = make_partner(entity, code="acme", return_max_share_bp=5000)
    other = make_partner(entity, code="other")
    start = datetime.now(UTC) - timedelta(hours=5)
    return acme, make_deliveries(acme, 4, start), make_deliveries(other, 1, start)[0]


def test_a_batch_returns_what_the_policy_allows_and_names_each_refusal_by_position(leads):
    acme, mine, theirs = leads
    batch = returns_request_many(actor="test", partner=acme, requests=[(mine[0], "dup"), (theirs, "dup"), (mine[0], "dup"),
                                                                     (mine[1], "dup"), (mine[2], "dup")])  # fmt: skip
    assert [r.delivery_id for r in batch.requested] == [mine[0].pk, mine[1].pk]
    refused = {index: exc for index, _, exc in batch.errors}
    assert set(refused) == {1, 2, 4}
    assert refused[1].field == "lead" and isinstance(refused[2], AlreadyReturned) and refused[4].field == "share"
    assert Return.objects.filter(delivery=theirs).count() == 0
    assert AuditEvent.objects.filter(action="return.requested").count() == 2
    summary = AuditEvent.objects.get(action="returns.requested")
    assert summary.data["requested"] == 2 and summary.data["refused"] == 3


def test_a_batch_is_bounded(leads):
    acme, mine, _ = leads
    with pytest.raises(DomainError, match=f"at most {MAX_RETURN_BATCH} leads at once"):
        returns_request_many(actor="test", partner=acme, requests=[(mine[0], "dup")] * (MAX_RETURN_BATCH + 1))
    assert not Return.objects.exists()
