"""Returns: the partner's return policy, decisions, and importing returns files."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.deliveries.models import Return, ReturnStatus
from leadbill.deliveries.selectors import returns_pending
from leadbill.deliveries.services import (
    AUTO_ACCEPT_ACTOR,
    AlreadyReturned,
    return_accept,
    return_reject,
    return_request,
    returns_decide,
    returns_import,
)
from leadbill.domain.errors import DomainError
from tests.factories import make_deliveries, make_delivery

pytestmark = pytest.mark.django_db
ACTOR = "test:reviewer"
JAN_5 = datetime(2026, 1, 5, 10, tzinfo=UTC)


def request(delivery, *, at=None, reason="wrong number"):
    return return_request(actor=ACTOR, delivery=delivery, reason=reason, requested_at=at or JAN_5 + timedelta(days=1))


def set_policy(partner, **policy):
    for name, value in policy.items():
        setattr(partner, name, value)
    partner.save()


def test_a_return_request_waits_for_a_decision(world):
    delivery = make_delivery(world.buyer, JAN_5)
    ret = request(delivery)

    assert (ret.status, ret.decided_at, ret.decided_by) == (ReturnStatus.REQUESTED, None, "")
    assert list(returns_pending(world.entity)) == [ret]
    event = AuditEvent.objects.get(action="return.requested")
    assert (event.actor, event.object_id, event.entity) == (ACTOR, str(ret.pk), world.entity)


def test_a_partner_that_does_not_accept_returns_refuses_them(world):
    set_policy(world.buyer, returns_allowed=False)
    delivery = make_delivery(world.buyer, JAN_5)

    with pytest.raises(DomainError, match="partner 'buyer' does not accept returns"):
        request(delivery)
    assert not Return.objects.exists()


def test_a_return_older_than_the_partners_limit_is_refused(world):
    set_policy(world.buyer, return_max_age_days=7)
    delivery = make_delivery(world.buyer, JAN_5)

    request(delivery, at=JAN_5 + timedelta(days=7))  # exactly the limit: allowed
    late = make_delivery(world.buyer, JAN_5)
    with pytest.raises(DomainError) as exc:
        request(late, at=JAN_5 + timedelta(days=7, seconds=1))
    assert exc.value.field == "requested_at"
    assert "accepts returns up to 7 days" in exc.value.message


def test_a_return_before_the_delivery_is_refused(world):
    delivery = make_delivery(world.buyer, JAN_5)

    with pytest.raises(DomainError, match="before the lead was delivered"):
        request(delivery, at=JAN_5 - timedelta(minutes=1))


def test_returns_above_the_partners_share_of_the_months_leads_are_refused(world):
    set_policy(world.buyer, return_max_share_bp=1000)  # 10 %
    deliveries = make_deliveries(world.buyer, 20, JAN_5)

    request(deliveries[0])
    request(deliveries[1])  # 2 of 20: exactly 10 %
    with pytest.raises(DomainError) as exc:
        request(deliveries[2])
    assert exc.value.message == (
        "returning this lead would make 3 of 20 leads of 2026-01 returned (15.00 %), "
        "above partner 'buyer''s limit of 10.00 %"
    )


def test_rejected_returns_do_not_count_toward_the_share(world):
    set_policy(world.buyer, return_max_share_bp=1000)
    deliveries = make_deliveries(world.buyer, 10, JAN_5)

    return_reject(actor=ACTOR, ret=request(deliveries[0]), note="lead was fine")
    request(deliveries[1])  # 1 of 10 open: allowed


def test_the_share_counts_the_calendar_month_in_the_entitys_time_zone(world):
    set_policy(world.buyer, return_max_share_bp=5000)  # 50 %
    # 23:30 UTC on 31 January is 00:30 on 1 February in Berlin: a February lead.
    february = make_delivery(world.buyer, datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    make_deliveries(world.buyer, 5, JAN_5)  # January leads do not help February's share

    with pytest.raises(DomainError, match="1 of 1 leads of 2026-02"):
        request(february, at=datetime(2026, 2, 2, tzinfo=UTC))
    make_delivery(world.buyer, datetime(2026, 2, 10, tzinfo=UTC))
    request(february, at=datetime(2026, 2, 11, tzinfo=UTC))  # 1 of 2 is 50 %


def test_auto_accept_accepts_the_return_at_once(world):
    set_policy(world.buyer, return_auto_accept=True)
    at = JAN_5 + timedelta(hours=3)
    ret = request(make_delivery(world.buyer, JAN_5), at=at)

    assert (ret.status, ret.decided_at, ret.decided_by) == (ReturnStatus.ACCEPTED, at, AUTO_ACCEPT_ACTOR)
    assert not returns_pending(world.entity).exists()


def test_a_lead_with_an_open_return_cannot_be_returned_again_until_rejected(world):
    delivery = make_delivery(world.buyer, JAN_5)
    first = request(delivery)

    with pytest.raises(AlreadyReturned):
        request(delivery)
    return_reject(actor=ACTOR, ret=first, note="lead was fine")
    again = request(delivery, reason="still wrong")
    assert again.status == ReturnStatus.REQUESTED


def test_accept_records_who_decided_and_when(world):
    ret = request(make_delivery(world.buyer, JAN_5))
    return_accept(actor=ACTOR, ret=ret, note="checked")

    ret.refresh_from_db()
    assert (ret.status, ret.decided_by, ret.decision_note) == (ReturnStatus.ACCEPTED, ACTOR, "checked")
    assert ret.decided_at is not None
    assert AuditEvent.objects.filter(action="return.accepted", object_id=str(ret.pk)).exists()


def test_only_a_requested_return_can_be_accepted_or_rejected(world):
    accepted = request(make_delivery(world.buyer, JAN_5))
    return_accept(actor=ACTOR, ret=accepted)
    rejected = request(make_delivery(world.buyer, JAN_5))
    return_reject(actor=ACTOR, ret=rejected, note="fine lead")

    with pytest.raises(DomainError, match=f"return {accepted.pk} is accepted; only a requested return can be rejected"):
        return_reject(actor=ACTOR, ret=accepted, note="changed my mind")
    with pytest.raises(DomainError, match=f"return {rejected.pk} is rejected; only a requested return can be accepted"):
        return_accept(actor=ACTOR, ret=rejected)


def test_rejecting_needs_a_reason(world):
    ret = request(make_delivery(world.buyer, JAN_5))

    with pytest.raises(DomainError, match="give the reason"):
        return_reject(actor=ACTOR, ret=ret, note="  ")
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.REQUESTED


def test_deciding_several_returns_decides_each_on_its_own(world):
    a, b, c = (request(make_delivery(world.buyer, JAN_5)) for _ in range(3))
    return_reject(actor=ACTOR, ret=b, note="fine")

    result = returns_decide(actor=ACTOR, returns=[a, b, c], accept=True, note="batch")

    assert [ret.pk for ret in result.decided] == [a.pk, c.pk]
    assert [(ret.pk, "is rejected" in message) for ret, message in result.errors] == [(b.pk, True)]
    assert set(Return.objects.values_list("status", flat=True)) == {"accepted", "rejected"}


# --- returns files ---------------------------------------------------------------------------


def import_returns(world, *lines, header="external_id,reason,requested_at,status", **kw):
    stream = io.StringIO("\n".join([header, *lines]) + "\n")
    return returns_import(actor=ACTOR, entity=world.entity, stream=stream, file_name="r.csv", **kw)


def test_a_returns_file_requests_returns_and_reports_bad_rows(world):
    set_policy(world.buyer, return_max_age_days=30)
    make_delivery(world.buyer, JAN_5, external_id="d1")
    make_delivery(world.buyer, JAN_5, external_id="d2")
    make_delivery(world.other, JAN_5, external_id="d3")
    set_policy(world.other, returns_allowed=False)

    result = import_returns(
        world,
        "d1,wrong number,2026-01-06T09:00:00+01:00,",
        "d2,duplicate,2026-03-01T00:00:00Z,",
        "d3,fake,2026-01-06T00:00:00Z,",
        "d9,unknown,2026-01-06T00:00:00Z,",
        "d1,again,2026-01-06T00:00:00,",
    )

    assert result.created == 1
    assert [(e.row, e.field) for e in result.errors] == [
        (3, "requested_at"),
        (4, "partner"),
        (5, "external_id"),
        (6, "requested_at"),
    ]
    assert str(result.errors[2]) == "row 5, external_id: no delivery with external_id 'd9'"
    ret = Return.objects.get()
    assert (ret.delivery.external_id, ret.requested_at) == ("d1", datetime(2026, 1, 6, 8, tzinfo=UTC))


def test_reimporting_a_returns_file_adds_nothing(world):
    make_delivery(world.buyer, JAN_5, external_id="d1")
    make_delivery(world.buyer, JAN_5, external_id="d2")
    lines = ("d1,wrong number,2026-01-06T00:00:00Z,", "d2,no answer,,rejected")

    first = import_returns(world, *lines)
    second = import_returns(world, *lines)

    assert (first.created, first.error_count) == (2, 0)
    assert (second.created, second.already_present, second.error_count) == (0, 2, 0)
    assert Return.objects.count() == 2


def test_a_returns_file_with_decisions_decides_requested_returns(world):
    d1 = make_delivery(world.buyer, JAN_5, external_id="d1")
    make_delivery(world.buyer, JAN_5, external_id="d2")
    request(d1)

    result = import_returns(world, "d1,wrong number,,accepted", "d2,bad lead,2026-01-06T00:00:00Z,accepted")

    assert (result.created, result.decided, result.error_count) == (1, 1, 0)
    assert set(Return.objects.values_list("status", flat=True)) == {ReturnStatus.ACCEPTED}


def test_a_returns_file_cannot_reverse_a_decision(world):
    ret = request(make_delivery(world.buyer, JAN_5, external_id="d1"))
    return_accept(actor=ACTOR, ret=ret)

    result = import_returns(world, "d1,bad lead,,rejected")

    assert [str(e) for e in result.errors] == ["row 2, status: the return of 'd1' is already accepted"]


def test_a_returns_file_refused_whole_with_all_or_nothing(world):
    make_delivery(world.buyer, JAN_5, external_id="d1")

    result = import_returns(world, "d1,wrong number,,", "d9,unknown,,", all_or_nothing=True)

    assert result.refused
    assert result.created == 0
    assert not Return.objects.exists()


def test_a_returns_file_applies_the_share_limit_row_by_row(world):
    set_policy(world.buyer, return_max_share_bp=5000)
    for i in range(4):
        make_delivery(world.buyer, JAN_5, external_id=f"d{i}")

    result = import_returns(
        world, *(f"d{i},bad,2026-01-06T00:00:00Z," for i in range(4)), header="external_id,reason,requested_at,status"
    )

    assert result.created == 2
    assert [(e.row, e.field) for e in result.errors] == [(4, "share"), (5, "share")]


def test_a_returns_file_needs_its_columns(world):
    with pytest.raises(DomainError, match="missing column"):
        import_returns(world, "d1", header="external_id")
