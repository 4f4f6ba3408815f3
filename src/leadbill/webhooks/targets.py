"""Where webhooks may go, and how they get there: public addresses only, checked again at every send.

A webhook is a request the server makes to an address an admin typed. Unchecked, it reaches what
the server reaches: its own loopback services, the private network, the cloud metadata service at
169.254.169.254. So the host of an endpoint is resolved when the endpoint is added and again before
every attempt, every address it resolves to must be public, and the request is sent to one of the
addresses that were checked (never resolved a second time by the HTTP client), so a DNS answer
that changes between the check and the connection (rebinding) cannot slip past.

Refused: loopback, private (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10), unspecified,
multicast, reserved, shared CGNAT space (100.64/10), the same inside IPv4-mapped (::ffff:a.b.c.d)
and NAT64 (64:ff9b::/96) IPv6 addresses, and `localhost` names. `LEADBILL_WEBHOOKS_ALLOW_PRIVATE`
(off by default) allows them, for development and tests with a receiver on this machine; hosts
must still resolve.

The request goes straight to the receiver with `http.client`: no proxy from the environment, no
redirect followed (a 3xx is an answer like any other non-2xx), and nothing of the answer but its
status is read. What is logged of an attempt is that status or a short reason written here.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from leadbill.domain.errors import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SHARED_CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598; `ipaddress` calls it neither private nor global
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address reached
REASON_LIMIT = 200
ALLOW_SETTING = "LEADBILL_WEBHOOKS_ALLOW_PRIVATE"
# What a send may raise: refused targets (a ValueError), network and TLS errors, malformed answers.
SEND_ERRORS = (OSError, http.client.HTTPException, ValueError)


class TargetRefused(DomainError):
    """The endpoint's host is not one webhooks may reach; `reason` is the short text for the delivery log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, field="url")
        self.reason = clean_reason(reason)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[IPAddress, ...]  # checked; the connection goes to these, in order


def allow_private() -> bool:
    return bool(getattr(settings, ALLOW_SETTING, False))


def clean_reason(text: str) -> str:
    """One line of printable text, at most REASON_LIMIT characters."""
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(text))
    text = " ".join(text.split())
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def is_localhost_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost") or name == "localhost.localdomain"


def refused_kind(ip: IPAddress) -> str | None:
    """Why webhooks may not go to `ip` ("loopback", "private", ...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return refused_kind(ip.ipv4_mapped)
        if ip in NAT64:
            return refused_kind(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip in SHARED_CGNAT:
        return "shared (CGNAT)"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    return None


def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address `host` has now (an address literal is its own answer); socket.gaierror when none."""
    found: list[IPAddress] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    return tuple(found)


def check_target(url: str) -> Target:
    """The checked target of `url`, or TargetRefused (a DomainError on the field url) saying why not."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise TargetRefused("refused: not an http(s) address", f"{url!r} is not an http(s) address")
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("refused: invalid port", f"{url!r} has an invalid port") from None
    if not host:
        raise TargetRefused("refused: no host", f"{url!r} has no host")
    allowed = allow_private()
    if not allowed and is_localhost_name(host):
        raise TargetRefused(f"refused: local name {host}", f"{host} is this machine; webhooks go to public "
                            f"addresses only (unless {ALLOW_SETTING} is set)")  # fmt: skip
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise TargetRefused(f"refused: cannot resolve {host}", f"{host} does not resolve to an address "
                            "(check the spelling; the receiver's name must exist when it is added)") from None  # fmt: skip
    if not allowed:
        for ip in addresses:
            kind = refused_kind(ip)
            if kind is not None:
                what = f"{ip} is" if host == str(ip) else f"{host} resolves to {ip},"
                article = "an" if kind[0] in "aeiou" else "a"
                raise TargetRefused(f"refused: {kind} address {ip}", f"{what} {article} {kind} address; webhooks "
                                    f"go to public addresses only (unless {ALLOW_SETTING} is set)")  # fmt: skip
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)


# --- sending -------------------------------------------------------------------------------------


def _connect(addresses: tuple[IPAddress, ...], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first checked address that answers: the name is not looked up again."""
    last: OSError = ConnectionError("no address")
    for ip in addresses:
        try:
            return socket.create_connection((str(ip), port), timeout)
        except OSError as exc:
            last = exc
    raise last


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.addresses = target.addresses

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        self.tls = ssl.create_default_context()  # verifies the certificate against the host name
        super().__init__(target.host, target.port, timeout=timeout, context=self.tls)
        self.addresses = target.addresses

    def connect(self) -> None:
        sock = _connect(self.addresses, self.port, self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: Mapping[str, str], *, timeout: float) -> int:
    """POST `body` to the checked target; returns the answer's status (its body is never read)."""
    connection = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=dict(headers))
        answer = connection.getresponse()
        return answer.status
    finally:
        connection.close()


def outcome(status: int) -> str:
    if 300 <= status < 400:
        return f"HTTP {status} (redirect not followed)"
    return f"HTTP {status}"


def failure_reason(exc: BaseException) -> str:
    """A short reason for a failed send, in our words: nothing the receiver wrote is repeated."""
    if isinstance(exc, TargetRefused):
        return exc.reason
    if isinstance(exc, TimeoutError):
        reason = "timeout"
    elif isinstance(exc, ConnectionRefusedError):
        reason = "connection refused"
    elif isinstance(exc, http.client.RemoteDisconnected):
        reason = "connection closed without an answer"
    elif isinstance(exc, ConnectionError):
        reason = "connection reset"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        reason = "TLS certificate not accepted"
    elif isinstance(exc, ssl.SSLError):
        reason = "TLS error"
    elif isinstance(exc, http.client.HTTPException):
        reason = "invalid HTTP answer"
    elif isinstance(exc, socket.gaierror):
        reason = "cannot resolve host"
    elif isinstance(exc, OSError):
        reason = f"network error: {exc.strerror}" if exc.strerror else "network error"
    else:
        reason = f"error: {type(exc).__name__}"
    return clean_reason(reason)
