"""Where webhooks may go: internal addresses are refused when an endpoint is added and at every send.

No test sends traffic anywhere but 127.0.0.1: public names are answered by `fake_dns`, and a
connection to a public address is intercepted before it leaves.
"""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leadbill.cli.main import main
from leadbill.domain.errors import DomainError
from leadbill.webhooks import targets
from leadbill.webhooks.models import Attempt, Delivery, DeliveryState, Endpoint, Event
from leadbill.webhooks.services import endpoint_add, webhook_deliver
from tests.factories import make_entity
from tests.webworld import STAFF, Site, site  # noqa: F401

ACTOR = "test:security"
SECRET_BODY = b"root:x:0:0 SECRET-7f3a9c internal-admin-token"


@pytest.fixture
def entity(db):
    return make_entity(timezone="UTC", currency="EUR", invoice_prefix="INV-", credit_note_prefix="CN-")


@pytest.fixture
def strict(settings):
    settings.LEADBILL_WEBHOOKS_ALLOW_HTTP = True
    settings.LEADBILL_WEBHOOKS_ALLOW_PRIVATE = False


@pytest.fixture
def no_traffic(monkeypatch):
    """Connections the webhook sender opens are recorded and refused: nothing leaves the machine."""
    opened: list[tuple[str, int]] = []

    def create_connection(address, *args, **kwargs):
        opened.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(targets.socket, "create_connection", create_connection)
    return opened


class Server:
    """A local HTTP server answering every request with one status, headers and body; counts the hits."""

    def __init__(self, status=200, headers=(), body=b"ok"):
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.hits.append(self.path)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local(settings):
    """Local servers, with private targets allowed as a developer's machine would."""
    settings.LEADBILL_WEBHOOKS_ALLOW_HTTP = True
    settings.LEADBILL_WEBHOOKS_ALLOW_PRIVATE = True
    made = []

    def make(**kw):
        made.append(Server(**kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


def queued_delivery(endpoint):
    event = Event.objects.create(entity=endpoint.entity, type="invoice.issued", payload={"number": "INV-1"})
    return Delivery.objects.create(event=event, endpoint=endpoint)


def stored_text(delivery):
    rows = list(Attempt.objects.filter(delivery=delivery).values()) + list(
        Delivery.objects.filter(pk=delivery.pk).values()
    )
    return " ".join(str(v) for row in rows for v in row.values())


# --- when an endpoint is added --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hooks", "loopback address 127.0.0.1"),
        ("http://127.0.0.1:8000/hooks", "loopback address 127.0.0.1"),
        ("https://10.1.2.3/hooks", "private address 10.1.2.3"),
        ("https://192.168.1.20/hooks", "private address 192.168.1.20"),
        ("https://172.16.0.1/hooks", "private address 172.16.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
        ("https://[::1]/hooks", "loopback address ::1"),
        ("https://[fc00::1]/hooks", "private address fc00::1"),
        ("https://[fe80::1]/hooks", "link-local address fe80::1"),
        ("https://[::ffff:10.0.0.5]/hooks", "private address ::ffff:10.0.0.5"),
        ("https://[64:ff9b::a9fe:a9fe]/hooks", "link-local address 64:ff9b::a9fe:a9fe"),
        ("https://100.64.0.1/hooks", "shared (CGNAT) address 100.64.0.1"),
        ("https://0.0.0.0/hooks", "unspecified address 0.0.0.0"),
        ("https://224.0.0.1/hooks", "multicast address 224.0.0.1"),
        ("https://240.0.0.1/hooks", "address 240.0.0.1"),
        ("https://2130706433/hooks", "loopback address 127.0.0.1"),  # 127.0.0.1 spelled as one number
        ("https://intranet.example/hooks", "private address 10.0.0.5"),
        ("https://split.example/hooks", "private address 192.168.0.9"),  # one bad answer is enough
    ],
)
def test_internal_targets_are_refused_when_added(entity, strict, fake_dns, url, reason):
    fake_dns({"intranet.example": ["10.0.0.5"], "split.example": ["93.184.216.34", "192.168.0.9"]})
    with pytest.raises(DomainError, match="public addresses only") as refused:
        endpoint_add(actor=ACTOR, entity=entity, url=url)
    assert refused.value.field == "url" and str(refused.value).startswith("url: ")
    assert refused.value.reason.startswith("refused: ") and refused.value.reason.endswith(reason)
    assert not Endpoint.objects.exists()


def test_the_refusal_says_which_address_a_name_resolved_to(entity, strict, fake_dns):
    fake_dns({"intranet.example": ["10.0.0.5"]})
    with pytest.raises(DomainError) as refused:
        endpoint_add(actor=ACTOR, entity=entity, url="https://intranet.example/hooks")
    assert str(refused.value) == (
        "url: intranet.example resolves to 10.0.0.5, a private address; webhooks go to public addresses only "
        "(unless LEADBILL_WEBHOOKS_ALLOW_PRIVATE is set)"
    )


@pytest.mark.parametrize("url", ["https://localhost/hooks", "http://LOCALHOST.:8080/", "https://app.localhost/h"])
def test_localhost_names_are_refused_before_any_lookup(entity, strict, fake_dns, url):
    looked_up = fake_dns({"localhost": ["93.184.216.34"], "app.localhost": ["93.184.216.34"]})
    with pytest.raises(DomainError, match="is this machine"):
        endpoint_add(actor=ACTOR, entity=entity, url=url)
    assert looked_up == []


def test_a_name_that_does_not_resolve_is_refused_on_the_url_field(entity, strict, monkeypatch):
    def nxdomain(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)
    with pytest.raises(DomainError, match=r"^url: hooks\.invalid does not resolve to an address"):
        endpoint_add(actor=ACTOR, entity=entity, url="https://hooks.invalid/x")


def test_public_names_are_accepted_and_private_ones_with_the_setting(entity, strict, settings, fake_dns):
    fake_dns({"erp.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"], "intranet.example": ["10.0.0.5"]})
    assert endpoint_add(actor=ACTOR, entity=entity, url="https://erp.example/hooks").url == "https://erp.example/hooks"
    settings.LEADBILL_WEBHOOKS_ALLOW_PRIVATE = True
    for url in ("https://intranet.example/h", "http://127.0.0.1:9/h", "https://[::1]/h", "http://localhost:9/h"):
        endpoint_add(actor=ACTOR, entity=entity, url=url)
    assert Endpoint.objects.count() == 5


def test_the_cli_refuses_internal_targets_and_names_the_field(entity, strict, fake_dns, capsys):
    fake_dns({"erp.example": ["93.184.216.34"], "metadata.example": ["169.254.169.254"]})
    assert main(["webhooks", "add", "--entity", entity.slug, "http://169.254.169.254/latest/meta-data/"]) == 2
    err = capsys.readouterr().err
    assert "leadbill: error: url: 169.254.169.254 is a link-local address" in err
    assert main(["webhooks", "add", "--entity", entity.slug, "https://metadata.example/x"]) == 2
    assert "url: metadata.example resolves to 169.254.169.254, a link-local address" in capsys.readouterr().err
    assert main(["webhooks", "add", "--entity", entity.slug, "https://[::1]:8443/x"]) == 2
    assert "url: ::1 is a loopback address" in capsys.readouterr().err
    assert not Endpoint.objects.exists()
    assert main(["webhooks", "add", "--entity", entity.slug, "https://erp.example/hooks"]) == 0
    assert "endpoint " in capsys.readouterr().out and Endpoint.objects.count() == 1


def test_the_console_refuses_internal_targets(site: Site, strict):  # noqa: F811
    admin = site.login(STAFF["admin"])
    page = admin.post(f"/console/{site.entity.slug}/automation/webhooks/", {"url": "https://192.168.0.1/lb"},
                      follow=True)  # fmt: skip
    assert "Endpoint not added: url: 192.168.0.1 is a private address" in page.text
    assert not Endpoint.objects.exists()


# --- at every send ---------------------------------------------------------------------------------


def test_a_name_rebound_to_a_private_address_after_it_was_added_is_refused_at_send(
    entity, strict, fake_dns, no_traffic
):
    fake_dns({"hooks.example": ["93.184.216.34"]})
    endpoint = endpoint_add(actor=ACTOR, entity=entity, url="https://hooks.example/in")
    delivery = queued_delivery(endpoint)
    fake_dns({"hooks.example": ["169.254.169.254"]})  # the name's owner points it inside
    assert webhook_deliver(delivery.pk) == DeliveryState.QUEUED  # retried: the name may point out again
    assert no_traffic == []
    (attempt,) = Attempt.objects.filter(delivery=delivery)
    assert (attempt.status, attempt.error) == (None, "refused: link-local address 169.254.169.254")
    delivery.refresh_from_db()
    assert delivery.last_error == "refused: link-local address 169.254.169.254"


def test_the_connection_goes_to_the_address_that_was_checked(entity, strict, fake_dns, no_traffic):
    looked_up = fake_dns({"hooks.example": ["93.184.216.34"]})
    endpoint = endpoint_add(actor=ACTOR, entity=entity, url="https://hooks.example/in")
    looked_up.clear()
    webhook_deliver(queued_delivery(endpoint).pk)
    assert looked_up == ["hooks.example"]  # resolved once, at send time
    assert no_traffic == [("93.184.216.34", 443)]  # connected to that address, not to the name again
    assert Attempt.objects.get().error == "connection refused"


def test_an_endpoint_stored_before_the_check_is_refused_at_send(entity, strict, no_traffic):
    endpoint = Endpoint.objects.create(entity=entity, url="http://10.0.0.7:8080/admin", secret="s")
    webhook_deliver(queued_delivery(endpoint).pk)
    assert Attempt.objects.get().error == "refused: private address 10.0.0.7" and no_traffic == []


def test_a_redirect_is_not_followed(entity, local):
    second = local()
    first = local(status=302, headers=[("Location", f"{second.url}/internal")], body=b"moved")
    endpoint = endpoint_add(actor=ACTOR, entity=entity, url=f"{first.url}/hooks")
    delivery = queued_delivery(endpoint)
    assert webhook_deliver(delivery.pk) == DeliveryState.QUEUED
    assert first.hits == ["/hooks"] and second.hits == []
    (attempt,) = Attempt.objects.filter(delivery=delivery)
    assert (attempt.status, attempt.error) == (302, "HTTP 302 (redirect not followed)")
    delivery.refresh_from_db()
    assert (delivery.last_status, delivery.state) == (302, DeliveryState.QUEUED)


@pytest.mark.parametrize("status", [200, 500])
def test_the_answer_body_is_never_stored(entity, local, status):
    server = local(status=status, body=SECRET_BODY)
    delivery = queued_delivery(endpoint_add(actor=ACTOR, entity=entity, url=f"{server.url}/hooks"))
    webhook_deliver(delivery.pk)
    attempt = Attempt.objects.get(delivery=delivery)
    assert (attempt.status, attempt.response) == (status, f"HTTP {status}")
    assert attempt.error == ("" if status == 200 else "HTTP 500")
    assert "SECRET-7f3a9c" not in stored_text(delivery) and "root:x" not in stored_text(delivery)


def test_network_failures_are_short_reasons(entity, local, monkeypatch):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    delivery = queued_delivery(endpoint_add(actor=ACTOR, entity=entity, url=f"http://127.0.0.1:{port}/x"))
    webhook_deliver(delivery.pk)
    assert Attempt.objects.get(delivery=delivery).error == "connection refused"

    silent = socket.socket()  # accepts, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    monkeypatch.setattr("leadbill.webhooks.services.TIMEOUT_SECONDS", 0.3)
    try:
        endpoint = endpoint_add(actor=ACTOR, entity=entity, url=f"http://127.0.0.1:{silent.getsockname()[1]}/x")
        delivery = queued_delivery(endpoint)
        webhook_deliver(delivery.pk)
    finally:
        silent.close()
    assert Attempt.objects.get(delivery=delivery).error == "timeout"


def test_reasons_are_one_short_printable_line():
    assert targets.clean_reason("refused:\x00 private\r\n address\x1b[31m 10.0.0.5\u202e") == (
        "refused: private address [31m 10.0.0.5"
    )
    assert len(targets.clean_reason("x" * 1000)) == targets.REASON_LIMIT


@pytest.fixture
def tls_files(tmp_path):
    """A self-signed certificate for hooks.test (made with the openssl command; skipped without it)."""
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hooks.test",
                    "-addext", "subjectAltName=DNS:hooks.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    return cert, key


def test_https_goes_to_the_checked_address_and_verifies_the_name(entity, local, fake_dns, tls_files, monkeypatch):
    import ssl

    cert, key = tls_files
    server = local()
    seen: dict[str, str] = {}
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen.update(sni=name)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    port = server.server.server_address[1]
    fake_dns({"hooks.test": ["127.0.0.1"]})
    delivery = queued_delivery(endpoint_add(actor=ACTOR, entity=entity, url=f"https://hooks.test:{port}/in"))
    webhook_deliver(delivery.pk)  # an unknown issuer: refused by the client
    assert Attempt.objects.get(delivery=delivery).error == "TLS certificate not accepted" and server.hits == []
    trusted = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(targets.ssl, "create_default_context", lambda: trusted)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.next_attempt_at)
    assert webhook_deliver(delivery.pk) == DeliveryState.DELIVERED
    assert server.hits == ["/in"] and seen["sni"] == "hooks.test"
