"""The one outbound guard: every request SRS sends to another system goes through here.

Agency webhooks use it today; DCI callbacks and national-registry queries are to use it too. The
guard decides where SRS may connect, so that an address typed into a setup page cannot turn SRS into
a tool against its own network (server-side request forgery):

* link-local, cloud-metadata, multicast and reserved addresses are refused always
  (169.254.0.0/16, fe80::/10, fd00:ec2::/32, 100.100.100.200, 0.0.0.0/8 ...);
* loopback and private networks (127.0.0.0/8, 10.0.0.0/8, 192.168.0.0/16, fc00::/7 ...) are refused
  in production unless listed in ``SRS_OUTBOUND_ALLOWED_NETWORKS``; a laptop in development or the
  test suite may call them (the agency's test server runs there);
* production calls https only;
* the host name is resolved when the connection is made and every address it resolves to is checked
  before SRS connects to one of them, the checked one: a name that answered a public address when
  the admin saved it and answers 169.254.169.254 now (DNS rebinding) is refused;
* redirects are never followed (a 3xx is an answer like any other, and a failed delivery).

Proxies from the environment (HTTP_PROXY ...) are ignored: a proxy would connect on SRS's behalf to an
address the guard never saw.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context
from flask_babel import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_Connection = TypeVar("_Connection", bound=HTTPConnection)

# Never called, whatever the settings say: link-local (cloud metadata lives there), the metadata
# addresses of the big clouds outside it, "this network", broadcast and multicast.
ALWAYS_REFUSED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "169.254.0.0/16",  # link-local; AWS, GCP, Azure, OpenStack metadata at 169.254.169.254
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "192.0.0.192/32",  # Oracle Cloud metadata
        "168.63.129.16/32",  # Azure wire server
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "fe80::/10",
        "fd00:ec2::/32",  # AWS metadata over IPv6
        "ff00::/8",
    )
)
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(Exception):  # noqa: N818 - a refusal, not a fault
    """The guard refuses to call this address; ``message`` says why, for the person who typed it.

    Not an OSError on purpose: urllib3 must not take it for a network failure and try again.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NameNotFound(OutboundRefused):  # noqa: N818
    """The host name does not resolve (now)."""


@dataclass(frozen=True)
class OutboundPolicy:
    """Where SRS may connect: ``strict`` (production) refuses private networks and plain http."""

    strict: bool
    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)


def parse_networks(text: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """``"10.1.0.0/16, 192.168.5.7"`` as networks; ValueError names a bad entry."""
    if text is None:
        return ()
    parts = text.split(",") if isinstance(text, str) else list(text)
    networks = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not a network (write it as 10.20.0.0/16 or 192.168.1.5)") from exc
    return tuple(networks)


def current_policy() -> OutboundPolicy:
    """The policy of the running app (strict in production; networks from SRS_OUTBOUND_ALLOWED_NETWORKS)."""
    if not has_app_context():
        return OutboundPolicy(strict=True)
    config = current_app.config
    networks = config.get("OUTBOUND_ALLOWED_NETWORKS") or ()
    if isinstance(networks, str):
        networks = parse_networks(networks)
    return OutboundPolicy(strict=bool(config.get("OUTBOUND_STRICT", True)), allowed_networks=tuple(networks))


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped or NAT64 IPv6 address (checked as itself)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def classify(address: IPAddress) -> str:
    """``refused`` (never called), ``private`` (loopback or not globally routed) or ``public``."""
    address = _embedded_ipv4(address)
    if any(address in network for network in ALWAYS_REFUSED if network.version == address.version):
        return "refused"
    if address.is_loopback:
        return "private"
    if address.is_unspecified or address.is_multicast or address.is_link_local or address.is_reserved:
        return "refused"
    if address.is_private or not address.is_global:
        return "private"
    return "public"


def check_address(address: IPAddress | str, policy: OutboundPolicy | None = None) -> None:
    """Raise OutboundRefused unless SRS may connect to ``address`` under ``policy``."""
    policy = policy or current_policy()
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    kind = classify(ip)
    if kind == "refused":
        raise OutboundRefused(
            _(
                "SRS never calls %(address)s: it is a link-local, cloud-metadata or reserved address.",
                address=str(ip),
            )
        )
    if kind == "private" and policy.strict:
        inner = _embedded_ipv4(ip)
        if not any(inner in n for n in policy.allowed_networks if n.version == inner.version):
            raise OutboundRefused(
                _(
                    "%(address)s is on a loopback or private network; SRS calls it only when the "
                    "network is listed in SRS_OUTBOUND_ALLOWED_NETWORKS.",
                    address=str(ip),
                )
            )


def resolve(host: str, port: int) -> list[tuple[int, Any]]:
    """(address family, socket address) for every address ``host`` resolves to (TCP)."""
    return [
        (family, sockaddr)
        for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    ]


def checked_addresses(host: str, port: int, policy: OutboundPolicy | None = None) -> list[tuple[int, Any]]:
    """Resolve ``host`` and check every address; all must pass, or none is used.

    One refused address refuses the name: a resolver answering a public and a metadata address
    in turn must not get its way by luck of the order.
    """
    policy = policy or current_policy()
    try:
        results = resolve(host.strip("[]"), port)
    except (socket.gaierror, UnicodeError) as exc:
        raise NameNotFound(_("The name %(host)s cannot be found.", host=host)) from exc
    if not results:
        raise NameNotFound(_("The name %(host)s cannot be found.", host=host))
    for _family, sockaddr in results:
        check_address(sockaddr[0].split("%", 1)[0], policy)
    return results


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


def check_url(url: str, policy: OutboundPolicy | None = None, *, resolve_host: bool = True) -> Target:
    """Check an address before it is saved or called; OutboundRefused says what is wrong.

    ``resolve_host``: also look the name up and check what it points to now. A name that cannot be
    found is accepted when saving (the office may be offline); the check at send time decides.
    """
    policy = policy or current_policy()
    if not isinstance(url, str):
        raise OutboundRefused(_("This is not a web address."))
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(_("This is not a web address.")) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(_("Give a web address starting with https://."))
    if policy.strict and scheme != "https":
        raise OutboundRefused(_("In production SRS calls https:// addresses only."))
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused(_("Leave the user name and password out of the address."))
    if any(ch.isspace() for ch in text):
        raise OutboundRefused(_("This is not a web address."))
    host = parts.hostname
    port = port or (443 if scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        check_address(literal, policy)
    elif resolve_host:
        # A name not found may be saved (perhaps offline now); the check at send time decides.
        with contextlib.suppress(NameNotFound):
            checked_addresses(host, port, policy)
    return Target(scheme, host, port)


# ---------------------------------------------------------------- sending


def _connect(
    addresses: list[tuple[int, Any]], timeout: Any, source_address: Any, options: Any
) -> socket.socket:
    """Connect to the first reachable of the checked addresses (what urllib3 would do, minus the lookup)."""
    error: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            for option in options or ():
                sock.setsockopt(*option)
            if isinstance(timeout, int | float):  # else urllib3's "default" marker: the socket default
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError("no address to connect to")


def _guarded(base: type[_Connection], policy: OutboundPolicy) -> type[_Connection]:
    class GuardedConnection(base):  # type: ignore[valid-type, misc]
        """Resolves and checks the host right before connecting, then connects to a checked address.

        TLS still verifies the certificate against the host name (urllib3 uses ``host`` for SNI and
        the hostname check; only the socket goes to the checked address).
        """

        def _new_conn(self) -> socket.socket:
            addresses = checked_addresses(self._dns_host, self.port, policy)
            return _connect(addresses, self.timeout, self.source_address, self.socket_options)

    return GuardedConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections go through the guard."""

    def __init__(self, policy: OutboundPolicy, **kwargs: Any) -> None:
        self.policy = policy
        super().__init__(max_retries=0, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_conn, https_conn = _guarded(HTTPConnection, self.policy), _guarded(HTTPSConnection, self.policy)

        class GuardedHTTPPool(HTTPConnectionPool):
            ConnectionCls = http_conn

        class GuardedHTTPSPool(HTTPSConnectionPool):
            ConnectionCls = https_conn

        self.poolmanager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class GuardedSession(requests.Session):
    """A session that never follows a redirect, whatever the caller asks."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def session(policy: OutboundPolicy | None = None) -> requests.Session:
    """A requests session that connects only where the guard allows and never follows redirects."""
    policy = policy or current_policy()
    s = GuardedSession()
    s.trust_env = False  # no proxies from the environment: the guard must see the real address
    adapter = GuardedAdapter(policy)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def post(
    url: str,
    *,
    data: bytes,
    headers: Mapping[str, str],
    timeout: float,
    policy: OutboundPolicy | None = None,
) -> requests.Response:
    """POST through the guard: the URL checked, the address checked at connect time, no redirects.

    Raises OutboundRefused when the guard refuses, requests.RequestException on network failures.
    """
    policy = policy or current_policy()
    check_url(url, policy, resolve_host=False)
    with session(policy) as s:
        return s.post(url, data=data, headers=dict(headers), timeout=timeout, allow_redirects=False)
