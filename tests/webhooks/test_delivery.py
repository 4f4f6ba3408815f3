"""Webhooks against a local HTTP receiver that checks the signature; events come from the writes they announce."""

import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leadbill.domain import periods
from leadbill.domain.errors import DomainError
from leadbill.invoicing.services import invoice_run_issue, invoice_void, payment_record, topup_record
from leadbill.webhooks import signing
from leadbill.webhooks.models import Attempt, Delivery, DeliveryState, Event
from leadbill.webhooks.services import deliveries_sweep, endpoint_add, webhook_deliver
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

ACTOR = "test:finance"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


class Receiver:
    """A receiver as a partner system would write one: verify, refuse N times, drop repeated ids."""

    def __init__(self, secret: str = "", fail_first: int = 0):
        self.secret = secret
        self.fail_left = fail_first
        self.accepted: list[dict] = []
        self.seen_ids: set[str] = set()
        self.requests = 0
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                if not signing.verify(receiver.secret, self.headers.get(signing.HEADER, ""), body):
                    receiver.bad_signatures += 1
                    return self._answer(400, b"bad signature")
                if receiver.fail_left:
                    receiver.fail_left -= 1
                    return self._answer(503, b"busy")
                event = json.loads(body)
                assert self.headers["Leadbill-Delivery"] == event["id"]
                if event["id"] not in receiver.seen_ids:
                    receiver.seen_ids.add(event["id"])
                    receiver.accepted.append(event)
                return self._answer(200, b"ok")

            def _answer(self, status, text):
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.LEADBILL_WEBHOOKS_ALLOW_HTTP = True
    settings.LEADBILL_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    made = []

    def make(**kw):
        r = Receiver(**kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


@pytest.fixture
def world(db):
    entity = make_entity(timezone="UTC", currency="EUR", invoice_prefix="INV-", credit_note_prefix="CN-")
    partner = make_partner(entity, code="acme", name="Acme Insurance", currency="EUR")
    make_plan(partner, "flat", {"price": "2.00"})
    make_deliveries(partner, 5, utc(2026, 10, 5))
    return entity, partner


def issue_october(entity):
    return invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, 10, "UTC")).issued


def test_receiver_failing_twice_then_succeeding_gets_exactly_one_accepted_delivery(
    world, receiver, frozen, settings, django_capture_on_commit_callbacks
):
    settings.LEADBILL_WEBHOOK_RETRY_DELAYS = [30, 120, 600]
    entity, _ = world
    r = receiver(fail_first=2)
    endpoint = endpoint_add(actor=ACTOR, entity=entity, url=r.url, events=["invoice.issued"])
    r.secret = endpoint.secret
    at = frozen(utc(2026, 11, 21, 9))
    with django_capture_on_commit_callbacks(execute=True):
        (invoice,) = issue_october(entity)
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.QUEUED, 1, 503)
    assert delivery.next_attempt_at == at + timedelta(seconds=30)
    for wait in (31, 121):
        at = frozen(at + timedelta(seconds=wait))
        with django_capture_on_commit_callbacks(execute=True):
            deliveries_sweep()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.DELIVERED, 3, 200)
    assert r.requests == 3 and r.bad_signatures == 0
    (event,) = r.accepted
    assert event["type"] == "invoice.issued" and event["data"]["number"] == invoice.number
    assert event["data"]["total"] == "10.00" and event["data"]["partner"]["code"] == "acme"
    assert list(Attempt.objects.filter(delivery=delivery).order_by("at").values_list("status", flat=True)) == [
        503,
        503,
        200,
    ]
    # a redelivered job or a later sweep sends nothing more
    assert webhook_deliver(delivery.pk) == DeliveryState.DELIVERED
    frozen(at + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep()
    assert r.requests == 3


def test_signature_is_hmac_sha256_over_timestamp_and_body(world, receiver, django_capture_on_commit_callbacks):
    entity, _ = world
    r = receiver(secret="wrong")
    endpoint_add(actor=ACTOR, entity=entity, url=r.url)
    with django_capture_on_commit_callbacks(execute=True):
        issue_october(entity)
    assert r.bad_signatures == 1 and r.accepted == []
    assert Delivery.objects.get().state == DeliveryState.QUEUED  # 400 is retried: the receiver may fix its key
    body = b'{"a":1}'
    header = signing.sign("k", body, timestamp=1_700_000_000)
    assert signing.verify("k", header, body, now=1_700_000_100)
    assert not signing.verify("k", header, body + b" ", now=1_700_000_100)
    assert not signing.verify("k", header, body, now=1_700_001_000)  # older than the tolerance: a replay


def test_issue_pay_void_and_credit_note_each_announce_one_event(world, receiver, django_capture_on_commit_callbacks):
    entity, partner = world
    r = receiver()
    r.secret = endpoint_add(actor=ACTOR, entity=entity, url=r.url).secret
    other = receiver()
    other.secret = endpoint_add(actor=ACTOR, entity=entity, url=other.url, events=["invoice.paid"]).secret
    with django_capture_on_commit_callbacks(execute=True):
        (invoice,) = issue_october(entity)
        payment_record(actor=ACTOR, invoice=invoice, amount_minor=400, paid_on=date(2026, 11, 5))
    assert [e["type"] for e in r.accepted] == ["invoice.issued"]  # a partial payment is no event
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(actor=ACTOR, invoice=invoice, amount_minor=600, paid_on=date(2026, 11, 6))
    assert [e["type"] for e in r.accepted] == ["invoice.issued", "invoice.paid"]
    assert [e["data"]["status"] for e in other.accepted] == ["paid"]
    make_deliveries(partner, 2, utc(2026, 11, 3))
    with django_capture_on_commit_callbacks(execute=True):
        (november,) = invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, 11, "UTC"),
                                        allow_open_period=True).issued  # fmt: skip
        note = invoice_void(actor=ACTOR, invoice=november, reason="wrong price")
    types = [e["type"] for e in r.accepted]
    assert types == ["invoice.issued", "invoice.paid", "invoice.issued", "credit_note.issued", "invoice.voided"]
    voided = r.accepted[-1]["data"]
    assert voided["number"] == november.number and voided["credit_note"] == note.number
    assert voided["reason"] == "wrong price"
    assert Event.objects.count() == 5 and len(other.accepted) == 1


def test_a_rolled_back_write_announces_nothing(world, receiver):
    from django.db import transaction

    entity, _ = world
    r = receiver()
    endpoint_add(actor=ACTOR, entity=entity, url=r.url)

    def run_then_fail():
        with transaction.atomic():
            issue_october(entity)
            raise RuntimeError("the caller's transaction fails after the run")

    with pytest.raises(RuntimeError):
        run_then_fail()
    assert not Event.objects.exists() and not Delivery.objects.exists()


def test_prepay_balance_under_its_threshold_alerts_once_by_email_and_webhook(
    world, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    entity, _ = world
    prepay = make_partner(entity, code="pre", currency="EUR", billing_mode="prepay", low_balance_minor=1500,
                          billing_emails=["money@pre.example"])  # fmt: skip
    make_plan(prepay, "flat", {"price": "4.00"})
    r = receiver()
    r.secret = endpoint_add(actor=ACTOR, entity=entity, url=r.url, events=["partner.low_balance"]).secret
    topup_record(actor=ACTOR, partner=prepay, amount_minor=3000, occurred_at=utc(2026, 9, 1))
    make_deliveries(prepay, 5, utc(2026, 10, 5))  # 20.00 of purchases: 30.00 -> 10.00, under 15.00
    with django_capture_on_commit_callbacks(execute=True):
        issue_october(entity)
    (event,) = r.accepted
    assert event["data"] == {"partner": {"code": "pre", "name": prepay.name}, "currency": "EUR",
                             "balance": "10.00", "threshold": "15.00"}  # fmt: skip
    alert_mail = [m for m in mailoutbox if m.subject.startswith("Low prepay balance")]
    assert len(alert_mail) == 1 and alert_mail[0].to == ["money@pre.example"] and "€10.00" in alert_mail[0].body
    make_deliveries(prepay, 1, utc(2026, 11, 2))
    with django_capture_on_commit_callbacks(execute=True):
        invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, 11, "UTC"), allow_open_period=True)
    assert len(r.accepted) == 1  # still under: no second alert
    with django_capture_on_commit_callbacks(execute=True):
        topup_record(actor=ACTOR, partner=prepay, amount_minor=5000, occurred_at=utc(2026, 11, 20))
    make_deliveries(prepay, 11, utc(2026, 12, 2))
    with django_capture_on_commit_callbacks(execute=True):
        invoice_run_issue(actor=ACTOR, entity=entity, period=periods.month(2026, 12, "UTC"), allow_open_period=True)
    assert len(r.accepted) == 2  # topped up above, then under again: a new alert


def test_endpoint_addresses_and_events_are_checked(world, settings, fake_dns):
    entity, _ = world
    fake_dns({"example.com": ["93.184.216.34"]})
    settings.LEADBILL_WEBHOOKS_ALLOW_HTTP = False
    with pytest.raises(DomainError, match="must use https"):
        endpoint_add(actor=ACTOR, entity=entity, url="http://example.com/hook")
    with pytest.raises(DomainError, match=r"unknown event 'invoice\.sent'"):
        endpoint_add(actor=ACTOR, entity=entity, url="https://example.com/hook", events=["invoice.sent"])
    with pytest.raises(DomainError, match="not an http"):
        endpoint_add(actor=ACTOR, entity=entity, url="ftp://example.com/hook")
