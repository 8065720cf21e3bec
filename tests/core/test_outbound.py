"""The outbound guard: which addresses SRS may call, checked when saved and again when connecting."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from srs.core import outbound
from srs.core.outbound import OutboundPolicy, OutboundRefused

DEVELOPMENT = OutboundPolicy(strict=False)
PRODUCTION = OutboundPolicy(strict=True)
PRODUCTION_WITH_LAN = OutboundPolicy(strict=True, allowed_networks=outbound.parse_networks("10.20.0.0/16"))

METADATA = [
    "169.254.169.254",
    "169.254.0.1",
    "fe80::1",
    "fd00:ec2::254",
    "100.100.100.200",
    "0.0.0.0",  # noqa: S104 - an address refused, not bound
    "0.1.2.3",
    "::ffff:169.254.169.254",  # the same address written as IPv6
    "64:ff9b::a9fe:a9fe",  # and through NAT64
    "224.0.0.1",
    "255.255.255.255",
    "::",
]
PRIVATE = [
    "127.0.0.1",
    "127.5.5.5",
    "::1",
    "10.20.30.40",
    "172.16.0.9",
    "192.168.1.1",
    "fc00::5",
    "100.64.0.1",
]


@pytest.mark.parametrize("address", METADATA)
@pytest.mark.parametrize(
    "policy", [DEVELOPMENT, PRODUCTION, PRODUCTION_WITH_LAN], ids=["dev", "prod", "prod+lan"]
)
def test_link_local_and_metadata_addresses_are_refused_always(app_ctx, address, policy):
    with pytest.raises(OutboundRefused, match="never calls"):
        outbound.check_address(address, policy)


@pytest.mark.parametrize("address", PRIVATE)
def test_loopback_and_private_networks_only_outside_production(app_ctx, address):
    outbound.check_address(address, DEVELOPMENT)
    with pytest.raises(OutboundRefused, match="SRS_OUTBOUND_ALLOWED_NETWORKS"):
        outbound.check_address(address, PRODUCTION)


def test_production_calls_a_private_network_listed_in_the_setting(app_ctx):
    outbound.check_address("10.20.1.2", PRODUCTION_WITH_LAN)
    with pytest.raises(OutboundRefused):
        outbound.check_address("10.21.1.2", PRODUCTION_WITH_LAN)
    # The setting never opens the metadata service.
    wide = OutboundPolicy(strict=True, allowed_networks=outbound.parse_networks("0.0.0.0/0, ::/0"))
    with pytest.raises(OutboundRefused, match="never calls"):
        outbound.check_address("169.254.169.254", wide)
    outbound.check_address("8.8.8.8", PRODUCTION)


def test_the_setting_is_read_from_the_environment_and_a_bad_entry_stops_the_start(monkeypatch, tmp_path):
    from srs.config import Config, ConfigurationError

    monkeypatch.setenv("SRS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SRS_ENV", raising=False)
    monkeypatch.setenv("SRS_OUTBOUND_ALLOWED_NETWORKS", "10.20.0.0/16, 192.168.7.7")
    config = Config()
    assert [str(n) for n in config.OUTBOUND_ALLOWED_NETWORKS] == ["10.20.0.0/16", "192.168.7.7/32"]
    assert config.OUTBOUND_STRICT is False
    monkeypatch.setenv("SRS_OUTBOUND_ALLOWED_NETWORKS", "10.20.0.0/16, intranet")
    with pytest.raises(ConfigurationError, match="SRS_OUTBOUND_ALLOWED_NETWORKS.*intranet"):
        Config()
    monkeypatch.setenv("SRS_OUTBOUND_ALLOWED_NETWORKS", "")
    monkeypatch.setenv("SRS_ENV", "production")
    monkeypatch.setenv("SRS_SECRET_KEY", "k" * 40)
    assert Config().OUTBOUND_STRICT is True


@pytest.mark.parametrize(
    ("url", "policy", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", DEVELOPMENT, "never calls"),
        ("http://[fd00:ec2::254]/latest/meta-data/", DEVELOPMENT, "never calls"),
        ("http://agency.example.org/hook", PRODUCTION, "https:// addresses only"),
        ("https://127.0.0.1/hook", PRODUCTION, "private network"),
        ("https://user:pw@agency.example.org/hook", DEVELOPMENT, "user name and password"),
        ("ftp://agency.example.org/hook", DEVELOPMENT, "starting with https://"),
        ("https:///nohost", DEVELOPMENT, "starting with https://"),
        ("https://agency.example.org:99999/", DEVELOPMENT, "not a web address"),
    ],
)
def test_check_url_says_what_is_wrong(app_ctx, url, policy, message):
    with pytest.raises(OutboundRefused, match=message):
        outbound.check_url(url, policy)


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Answer getaddrinfo for the names in ``answers``; every other name as the system would."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            asked.append(host)
            out = []
            for address in answers[host]:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sockaddr = (
                    (address, int(port or 0), 0, 0)
                    if family == socket.AF_INET6
                    else (address, int(port or 0))
                )
                out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
            return out
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_is_checked_by_every_address_it_resolves_to(app_ctx, monkeypatch):
    _fake_dns(
        monkeypatch,
        {"good.example.org": ["93.184.215.14"], "mixed.example.org": ["93.184.215.14", "169.254.169.254"]},
    )
    outbound.check_url("https://good.example.org/hook", PRODUCTION)
    with pytest.raises(OutboundRefused, match="169.254.169.254"):
        outbound.check_url("https://mixed.example.org/hook", PRODUCTION)
    # A name that cannot be found now may be saved (the office may be offline): sending decides.
    outbound.check_url("https://not-found.invalid/hook", PRODUCTION)


class _Server:
    """A tiny HTTP server on 127.0.0.1: ``status`` answered to every POST, ``location`` for a 3xx."""

    def __init__(self, status: int = 200, location: str | None = None) -> None:
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.hits.append(self.command + " " + self.path)
                length = int(self.headers.get("Content-Length", 0) or 0)
                self.rfile.read(length)
                self.send_response(server.status)
                if server.location:
                    self.send_header("Location", server.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.status, self.location = status, location
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[list[_Server]]:
    made: list[_Server] = []
    yield made
    for s in made:
        s.close()


def test_redirects_are_never_followed(app_ctx, servers):
    target = _Server(200)
    redirector = _Server(302, location=target.url)
    servers += [target, redirector]
    response = outbound.post(redirector.url, data=b"{}", headers={}, timeout=5, policy=DEVELOPMENT)
    assert response.status_code == 302
    assert redirector.hits == ["POST /hook"] and target.hits == []


def test_dns_rebinding_is_caught_when_connecting(app_ctx, monkeypatch, servers):
    """The name pointed at the agency's server when checked; at connect time it points at metadata."""
    server = _Server(200)
    servers.append(server)
    answers = {"agency.example.org": ["127.0.0.1"]}
    _fake_dns(monkeypatch, answers)
    url = f"http://agency.example.org:{server.port}/hook"
    outbound.check_url(url, DEVELOPMENT)
    assert outbound.post(url, data=b"{}", headers={}, timeout=5, policy=DEVELOPMENT).status_code == 200
    answers["agency.example.org"] = ["169.254.169.254"]
    with pytest.raises(OutboundRefused, match="169.254.169.254"):
        outbound.post(url, data=b"{}", headers={}, timeout=5, policy=DEVELOPMENT)
    assert server.hits == ["POST /hook"]


def test_proxies_from_the_environment_are_not_used(app_ctx, monkeypatch, servers):
    server = _Server(200)
    servers.append(server)
    monkeypatch.setenv("HTTP_PROXY", "http://169.254.169.254:3128")
    monkeypatch.setenv("http_proxy", "http://169.254.169.254:3128")
    response = outbound.post(server.url, data=b"{}", headers={}, timeout=5, policy=DEVELOPMENT)
    assert response.status_code == 200 and server.hits == ["POST /hook"]


def test_production_policy_refuses_the_local_server_before_any_connection(app_ctx, servers):
    server = _Server(200)
    servers.append(server)
    with pytest.raises(OutboundRefused):
        outbound.post(server.url, data=b"{}", headers={}, timeout=5, policy=PRODUCTION)
    https_local = f"https://localhost:{server.port}/hook"
    with pytest.raises(OutboundRefused, match="private network"):
        outbound.post(https_local, data=b"{}", headers={}, timeout=5, policy=PRODUCTION)
    assert server.hits == []


def test_the_app_policy_follows_the_config(app, monkeypatch):
    with app.app_context():
        assert outbound.current_policy().strict is False
        monkeypatch.setitem(app.config, "OUTBOUND_STRICT", True)
        monkeypatch.setitem(app.config, "OUTBOUND_ALLOWED_NETWORKS", outbound.parse_networks("10.0.0.0/8"))
        policy = outbound.current_policy()
        assert policy.strict and policy.allowed_networks == outbound.parse_networks("10.0.0.0/8")


def test_a_network_failure_is_a_requests_error_not_a_refusal(app_ctx):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(requests.ConnectionError):
        outbound.post(f"http://127.0.0.1:{port}/", data=b"", headers={}, timeout=2, policy=DEVELOPMENT)
