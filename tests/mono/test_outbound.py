"""Outbound HTTP refuses SSRF targets, connects only to the address it checked, and caps time and size.

URL checks run against a scripted resolver; real requests go to a local server that the policy's
allow-list admits, so nothing here needs the internet.
"""

import base64
import http.server
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from mono.kernel.outbound import (
    OutboundPolicy,
    OutboundRequestFailed,
    OutboundRequestRefused,
    OutboundTimeout,
    ResponseTooLarge,
    check_url,
    send,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"
SECRET = "whsec_" + base64.b64encode(b"tenant-acme-signing-key-32-bytes").decode()


class FakeDNS:
    """A scripted ``getaddrinfo``: fixed answers per name, optionally different ones after the first lookup."""

    def __init__(self, answers: dict[str, list[str]], *, later: dict[str, list[str]] | None = None) -> None:
        self.answers = answers
        self.later = later or {}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        addresses = self.later[host] if host in self.lookups and host in self.later else self.answers.get(host)
        self.lookups.append(host)
        if addresses is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in addresses
        ]


@pytest.fixture
def dns() -> FakeDNS:
    return FakeDNS(
        {
            "public.example.test": [PUBLIC_V4],
            "dual.example.test": [PUBLIC_V4, PUBLIC_V6],
            "xn--bcher-kva.example.test": [PUBLIC_V4],
            "metadata.google.internal": ["169.254.169.254"],
            "instance-data.example.test": ["fd00:ec2::254"],
            "internal.example.test": ["10.0.0.5"],
            "mixed.example.test": [PUBLIC_V4, "10.0.0.7"],
            "mixed6.example.test": [PUBLIC_V6, "::1"],
            "localhost": ["127.0.0.1", "::1"],
            "hook.example.test": ["127.0.0.1"],
            "other.example.test": ["127.0.0.1"],
        }
    )


STRICT = OutboundPolicy()

FORBIDDEN = [
    pytest.param("http://127.0.0.1/", "is loopback (127.0.0.0/8)", id="loopback-v4"),
    pytest.param("http://127.255.255.254:8080/admin", "is loopback", id="loopback-v4-top"),
    pytest.param("http://[::1]/", "is loopback (::1/128)", id="loopback-v6"),
    pytest.param("http://0.0.0.0/", "is unspecified", id="unspecified-v4"),
    pytest.param("http://0.1.2.3/", "0.0.0.0/8", id="this-network"),
    pytest.param("http://[::]/", "is unspecified", id="unspecified-v6"),
    pytest.param("http://169.254.169.254/latest/meta-data/", "is link-local", id="cloud-metadata"),
    pytest.param("http://metadata.google.internal/computeMetadata/v1/", "169.254.169.254", id="metadata-name"),
    pytest.param("http://instance-data.example.test/", "is unique-local", id="metadata-name-v6"),
    pytest.param("http://10.0.0.1/", "is private (10.0.0.0/8)", id="private-10"),
    pytest.param("http://172.16.0.1/", "is private (172.16.0.0/12)", id="private-172.16"),
    pytest.param("http://172.31.255.254/", "is private (172.16.0.0/12)", id="private-172.31"),
    pytest.param("http://192.168.1.1/", "is private (192.168.0.0/16)", id="private-192.168"),
    pytest.param("http://100.64.0.1/", "CGNAT", id="cgnat"),
    pytest.param("http://224.0.0.1/", "is multicast", id="multicast-v4"),
    pytest.param("http://240.0.0.1/", "is reserved (240.0.0.0/4)", id="reserved-v4"),
    pytest.param("http://255.255.255.255/", "is the broadcast address", id="broadcast"),
    pytest.param("http://192.0.2.10/", "reserved for documentation", id="documentation-v4"),
    pytest.param("http://198.18.0.1/", "reserved for benchmarking", id="benchmarking-v4"),
    pytest.param(
        "http://[::ffff:127.0.0.1]/", "IPv4-mapped address embedding 127.0.0.1, which is loopback", id="mapped"
    ),
    pytest.param("http://[::ffff:7f00:1]/", "IPv4-mapped address embedding 127.0.0.1", id="mapped-hex"),
    pytest.param("http://[::ffff:a9fe:a9fe]/", "embedding 169.254.169.254, which is link-local", id="mapped-metadata"),
    pytest.param("http://[2002:7f00:1::]/", "6to4 address embedding 127.0.0.1, which is loopback", id="6to4"),
    pytest.param("http://[2002:a00:1::1]/", "6to4 address embedding 10.0.0.1, which is private", id="6to4-private"),
    # Teredo stores the client address inverted: 80ff:fffe is 127.0.0.1 bit-flipped.
    pytest.param(
        "http://[2001:0000:4136:e378:8000:63bf:80ff:fffe]/",
        "Teredo address embedding 127.0.0.1, which is loopback",
        id="teredo",
    ),
    pytest.param("http://[64:ff9b::7f00:1]/", "NAT64 address embedding 127.0.0.1, which is loopback", id="nat64"),
    pytest.param("http://[64:ff9b::a00:1]/", "NAT64 address embedding 10.0.0.1, which is private", id="nat64-private"),
    pytest.param("http://[64:ff9b:1::1]/", "local-use NAT64", id="nat64-local-use"),
    pytest.param("http://[::127.0.0.1]/", "IPv4-compatible", id="ipv4-compatible"),
    pytest.param("http://[fc00::1]/", "is unique-local (fc00::/7)", id="unique-local-fc"),
    pytest.param("http://[fd12:3456::1]/", "is unique-local (fc00::/7)", id="unique-local-fd"),
    pytest.param("http://[fe80::1]/", "is link-local (fe80::/10)", id="link-local-v6"),
    pytest.param("http://[fe80::1%25eth0]/", "zone identifiers", id="link-local-zone"),
    pytest.param("http://[fec0::1]/", "site-local", id="site-local"),
    pytest.param("http://[ff02::1]/", "is multicast (ff00::/8)", id="multicast-v6"),
    pytest.param("http://[2001:db8::1]/", "reserved for documentation", id="documentation-v6"),
    pytest.param("http://[4000::1]/", "outside global unicast", id="unallocated-v6"),
    pytest.param("http://2130706433/", "non-canonical IPv4 spelling (read as 127.0.0.1)", id="decimal"),
    pytest.param("http://0177.0.0.1/", "IPv4", id="octal"),
    pytest.param("http://0x7f.1/", "non-canonical IPv4 spelling (read as 127.0.0.1)", id="hex-short"),
    pytest.param("http://0x7f000001/", "non-canonical IPv4 spelling (read as 127.0.0.1)", id="hex"),
    pytest.param("http://127.1/", "non-canonical IPv4 spelling (read as 127.0.0.1)", id="short"),
    pytest.param("http://10.1/", "non-canonical IPv4 spelling (read as 10.0.0.1)", id="short-private"),
    pytest.param("http://1.2.3.4.5/", "non-canonical IPv4 spelling", id="five-parts"),
    pytest.param("http://public.example.test./", "ends with a dot", id="trailing-dot"),
    pytest.param("http://-public.example.test/", "not a valid DNS name", id="invalid-label"),
    pytest.param("http://127\u30020\u30020\u30021/", "is loopback", id="idn-ideographic-dots"),
    pytest.param("http://\uff11\uff12\uff17.0.0.1/", "invalid URL", id="idn-fullwidth-digits"),
    pytest.param("http://%31%32%37.0.0.1/", "is percent-encoded", id="percent-encoded-host"),
    pytest.param("file:///etc/passwd", "scheme 'file' is not allowed", id="file"),
    pytest.param("gopher://127.0.0.1:6379/_INFO", "scheme 'gopher' is not allowed", id="gopher"),
    pytest.param("ftp://public.example.test/", "scheme 'ftp' is not allowed", id="ftp"),
    pytest.param("dict://public.example.test:11211/", "scheme 'dict' is not allowed", id="dict"),
    pytest.param("//public.example.test/", "scheme '(none)'", id="scheme-relative"),
    pytest.param("http://user@evil@10.0.0.1/", "userinfo", id="userinfo-double-at"),
    pytest.param("http://user:secret@public.example.test/", "userinfo", id="userinfo"),
    pytest.param("http://public.example.test\\@10.0.0.1/", "'\\\\'", id="backslash"),
    pytest.param("http://public.example.test/a b", "' '", id="space"),
    pytest.param("http:///hook", "no host", id="no-host"),
    pytest.param("http://public.example.test:0/", "port 0 is out of range", id="port-0"),
    pytest.param("http://public.example.test:99999/", "port 99999 is out of range", id="port-too-big"),
    pytest.param(
        "http://internal.example.test/", "resolves to 10.0.0.5: address 10.0.0.5 is private", id="dns-private"
    ),
    pytest.param("http://mixed.example.test/", "resolves to 10.0.0.7", id="dns-one-of-several-private"),
    pytest.param("http://mixed6.example.test/", "resolves to ::1", id="dns-one-of-several-loopback-v6"),
    pytest.param("http://localhost:8000/", "is loopback", id="localhost"),
]


@pytest.mark.parametrize(("url", "reason"), FORBIDDEN)
def test_forbidden_url_is_refused_with_its_reason(dns, url, reason):
    with pytest.raises(OutboundRequestRefused) as refused:
        check_url(url, policy=STRICT, resolver=dns)
    assert reason in refused.value.reason


def test_public_address_literal_is_accepted_without_a_lookup(dns):
    checked = check_url(f"https://{PUBLIC_V4}/hooks?x=1", policy=STRICT, resolver=dns)
    assert (str(checked.address), checked.port, dns.lookups) == (PUBLIC_V4, 443, [])


def test_public_name_is_resolved_once_and_pinned_to_its_first_answer(dns):
    checked = check_url("http://dual.example.test:8080/hook", policy=STRICT, resolver=dns)
    assert (str(checked.address), checked.port, dns.lookups) == (PUBLIC_V4, 8080, ["dual.example.test"])


def test_nat64_form_of_a_public_address_is_accepted(dns):
    checked = check_url("http://[64:ff9b::5db8:d822]/", policy=STRICT, resolver=dns)
    assert str(checked.address) == "64:ff9b::5db8:d822"


def test_idn_host_is_looked_up_in_its_ascii_form(dns):
    check_url("https://b\u00fccher.example.test/", policy=STRICT, resolver=dns)
    assert dns.lookups == ["xn--bcher-kva.example.test"]


def test_unresolvable_host_fails_as_retryable_not_refused(dns):
    with pytest.raises(OutboundRequestFailed, match=r"could not resolve host 'missing\.example\.test'") as failed:
        check_url("https://missing.example.test/", policy=STRICT, resolver=dns)
    assert not isinstance(failed.value, OutboundRequestRefused)


def test_allow_listed_name_skips_the_address_check(dns):
    policy = OutboundPolicy(allowed_hosts=["internal.example.test"])
    assert str(check_url("http://internal.example.test/", policy=policy, resolver=dns).address) == "10.0.0.5"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("a.example.test", True), ("a.b.example.test", True), ("example.test", False), ("evilexample.test", False)],
)
def test_wildcard_entry_matches_subdomains_only(host, allowed):
    policy = OutboundPolicy(allowed_hosts=["*.example.test"])
    resolver = FakeDNS({host: ["10.0.0.5"]})
    if allowed:
        check_url(f"http://{host}/", policy=policy, resolver=resolver)
    else:
        with pytest.raises(OutboundRequestRefused, match="is private"):
            check_url(f"http://{host}/", policy=policy, resolver=resolver)


def test_allow_listed_address_admits_any_name_resolving_to_it_and_nothing_else(dns):
    policy = OutboundPolicy(allowed_hosts=["127.0.0.1", "fd00::/8"])
    assert str(check_url("http://hook.example.test/", policy=policy, resolver=dns).address) == "127.0.0.1"
    assert str(check_url("http://instance-data.example.test/", policy=policy, resolver=dns).address) == "fd00:ec2::254"
    with pytest.raises(OutboundRequestRefused, match="is private"):
        check_url("http://internal.example.test/", policy=policy, resolver=dns)


def test_allow_list_does_not_lift_the_url_checks(dns):
    policy = OutboundPolicy(allowed_hosts=["internal.example.test", "10.0.0.0/8"])
    with pytest.raises(OutboundRequestRefused, match="userinfo"):
        check_url("http://admin@internal.example.test/", policy=policy, resolver=dns)
    with pytest.raises(OutboundRequestRefused, match="scheme 'gopher'"):
        check_url("gopher://internal.example.test/", policy=policy, resolver=dns)


@pytest.mark.parametrize("entry", ["*", "localhost:8000", "exa*mple.test", "127.1", "http://hooks.test", "hooks.test."])
def test_policy_refuses_allow_list_entries_it_cannot_match(entry):
    with pytest.raises(ValueError, match="allowed_hosts entry"):
        OutboundPolicy(allowed_hosts=[entry])


def test_policy_refuses_a_bare_string_for_allowed_hosts():
    with pytest.raises(ValueError, match="not one string"):
        OutboundPolicy(allowed_hosts="localhost")  # type: ignore[arg-type]


# --- Real requests to a local server ------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Route = Callable[["_Handler"], None]


class _HTTPServer(http.server.ThreadingHTTPServer):
    owner: "LocalServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients hanging up on purpose is what several tests do."""


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer

    def handle_one(self) -> None:
        owner = self.server.owner
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        owner.received.append(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        owner.routes.get(self.path.partition("?")[0], echo)(self)

    do_GET = do_POST = do_PUT = do_HEAD = handle_one

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


@dataclass
class LocalServer:
    """A threaded HTTP(S) server on 127.0.0.1 that records requests and answers through ``routes``."""

    tls: ssl.SSLContext | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    hung_up: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        if self.tls is not None:
            self.httpd.socket = self.tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str, host: str = "hook.example.test") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(handler: _Handler, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in {"content-length": str(len(body)), **(headers or {})}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def echo(handler: _Handler) -> None:
    request = handler.server.owner.received[-1]
    answer = {"method": request.method, "body": request.body.decode()}
    reply(handler, 201, json.dumps(answer).encode(), {"content-type": "application/json", "x-reply": "yes"})


def redirect_to(location: str, status: int = 302) -> Route:
    return lambda handler: reply(handler, status, headers={"location": location})


def stream_forever(handler: _Handler) -> None:
    handler.send_response(200)
    handler.end_headers()
    try:
        while not handler.server.owner.stopping.is_set():
            handler.wfile.write(b"x" * 65536)
    except OSError:
        handler.server.owner.hung_up.set()


def drip_headers(handler: _Handler) -> None:
    try:
        for byte in b"HTTP/1.0 200 OK\r\nx-slow: " + b"a" * 1000:
            if handler.server.owner.stopping.wait(0.05):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
    except OSError:
        handler.server.owner.hung_up.set()


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.close()


@pytest.fixture
def local_policy() -> OutboundPolicy:
    """Admit the local server by address, so every name the fake DNS points at 127.0.0.1 may be reached."""
    return OutboundPolicy(allowed_hosts=["127.0.0.1"], timeout_seconds=2, connect_timeout_seconds=1)


def test_request_arrives_with_method_headers_and_body_and_the_response_comes_back(server, dns, local_policy):
    response = send(
        "post",
        server.url("/hook?attempt=1"),
        headers={"content-type": "application/json", "x-tenant": "acme"},
        body=b'{"event": "run.finished"}',
        policy=local_policy,
        resolver=dns,
    )
    [request] = server.received
    assert (request.method, request.path, request.body) == ("POST", "/hook?attempt=1", b'{"event": "run.finished"}')
    assert request.headers["x-tenant"] == "acme"
    assert request.headers["host"] == f"hook.example.test:{server.port}"
    assert (response.status_code, response.is_success, response.headers["x-reply"]) == (201, True, "yes")
    assert response.json() == {"method": "POST", "body": '{"event": "run.finished"}'}
    assert response.url == server.url("/hook?attempt=1")
    assert 0 < response.elapsed_ms < 2000


def test_connection_goes_to_the_pinned_address_without_a_second_lookup(server, local_policy, monkeypatch):
    # A rebinding DNS: the first answer passes the check, any later one would point inside.
    dns = FakeDNS({"hook.example.test": ["127.0.0.1"]}, later={"hook.example.test": ["10.0.0.1"]})
    system_lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def spy(host: Any, *args: Any, **kwargs: Any) -> Any:
        system_lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    response = send("GET", server.url("/hook"), policy=local_policy, resolver=dns)
    assert response.status_code == 201
    assert dns.lookups == ["hook.example.test"]
    assert system_lookups == ["127.0.0.1"]  # the socket layer only ever sees the pinned literal
    assert server.received[0].headers["host"] == f"hook.example.test:{server.port}"


def test_response_over_the_cap_raises_and_hangs_up_without_reading_the_rest(server, dns):
    server.routes["/big"] = stream_forever
    policy = OutboundPolicy(allowed_hosts=["127.0.0.1"], timeout_seconds=5, max_response_bytes=100_000)
    with pytest.raises(ResponseTooLarge, match="over the 100000-byte limit"):
        send("GET", server.url("/big"), policy=policy, resolver=dns)
    assert server.hung_up.wait(2), "the client kept the endless response open"


def test_declared_oversized_response_is_refused_before_its_body_arrives(server, dns):
    def declare_huge(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("content-length", "50000000")
        handler.end_headers()
        handler.wfile.flush()
        handler.server.owner.stopping.wait(5)

    server.routes["/huge"] = declare_huge
    policy = OutboundPolicy(allowed_hosts=["127.0.0.1"], timeout_seconds=5, max_response_bytes=1000)
    started = time.monotonic()
    with pytest.raises(ResponseTooLarge, match="declares 50000000 bytes"):
        send("GET", server.url("/huge"), policy=policy, resolver=dns)
    assert time.monotonic() - started < 1


def test_head_response_may_declare_a_length_over_the_cap(server, dns):
    server.routes["/file"] = lambda handler: reply(handler, 200, headers={"content-length": "50000000"})
    policy = OutboundPolicy(allowed_hosts=["127.0.0.1"], timeout_seconds=2, max_response_bytes=1000)
    response = send("HEAD", server.url("/file"), policy=policy, resolver=dns)
    assert (response.status_code, response.headers["content-length"], response.body) == (200, "50000000", b"")


def test_slow_server_times_out(server, dns):
    server.routes["/slow"] = lambda handler: handler.server.owner.stopping.wait(3) or reply(handler, 200)
    policy = OutboundPolicy(allowed_hosts=["127.0.0.1"], timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(OutboundTimeout, match=r"limit for the whole request|timed out"):
        send("GET", server.url("/slow"), policy=policy, resolver=dns)
    assert time.monotonic() - started < 1


def test_total_deadline_stops_a_server_that_drips_its_headers(server, dns):
    server.routes["/drip"] = drip_headers
    # Each byte arrives well inside the read timeout; only the total deadline can end this.
    policy = OutboundPolicy(allowed_hosts=["127.0.0.1"], timeout_seconds=0.4)
    started = time.monotonic()
    with pytest.raises(OutboundTimeout, match=r"0\.4 s limit for the whole request"):
        send("GET", server.url("/drip"), policy=policy, resolver=dns)
    assert time.monotonic() - started < 1


def test_closed_port_fails_as_retryable(dns, local_policy):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OutboundRequestFailed, match="ConnectError") as failed:
        send("GET", f"http://127.0.0.1:{port}/", policy=local_policy, resolver=dns)
    assert not isinstance(failed.value, OutboundRequestRefused)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://10.0.0.1/", "redirect to http://10.0.0.1/: address 10.0.0.1 is private"),
        ("http://169.254.169.254/latest/meta-data/", "address 169.254.169.254 is link-local"),
        ("http://metadata.google.internal/", "resolves to 169.254.169.254"),
        ("http://[::ffff:10.0.0.1]/", "embedding 10.0.0.1, which is private"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("http://admin@hook.example.test/", "userinfo"),
        ("/\\169.254.169.254/", "'\\\\'"),
    ],
)
def test_redirect_to_a_forbidden_target_is_refused(server, dns, local_policy, location, reason):
    server.routes["/go"] = redirect_to(location)
    with pytest.raises(OutboundRequestRefused) as refused:
        send("GET", server.url("/go"), policy=local_policy, resolver=dns)
    assert reason in refused.value.reason
    assert len(server.received) == 1


def test_redirect_to_another_allowed_url_is_followed_with_one_lookup_per_hop(server, dns, local_policy):
    server.routes["/go"] = redirect_to(server.url("/echo", host="other.example.test"), status=307)
    response = send("PUT", server.url("/go"), body=b"{}", policy=local_policy, resolver=dns)
    assert (response.status_code, response.url) == (201, server.url("/echo", host="other.example.test"))
    assert dns.lookups == ["hook.example.test", "other.example.test"]
    assert [(r.method, r.headers["host"], r.body) for r in server.received] == [
        ("PUT", f"hook.example.test:{server.port}", b"{}"),
        ("PUT", f"other.example.test:{server.port}", b"{}"),
    ]


def test_credentials_are_not_forwarded_to_another_origin(server, dns, local_policy):
    server.routes["/go"] = redirect_to(server.url("/echo", host="other.example.test"))
    send("GET", server.url("/go"), headers={"authorization": "Bearer t0ken"}, policy=local_policy, resolver=dns)
    assert [r.headers.get("authorization") for r in server.received] == ["Bearer t0ken", None]


def test_see_other_after_a_signed_post_becomes_a_plain_get(server, dns, local_policy):
    server.routes["/go"] = redirect_to("/echo", status=303)
    response = send(
        "POST",
        server.url("/go"),
        headers={"content-type": "application/json"},
        body=b'{"a": 1}',
        signing_secret=SECRET,
        message_id="msg_1",
        policy=local_policy,
        resolver=dns,
    )
    followed = server.received[1]
    assert (response.json(), followed.path) == ({"method": "GET", "body": ""}, "/echo")
    assert not {"content-type", "webhook-signature", "webhook-id"} & followed.headers.keys()


def test_more_redirects_than_the_policy_allows_are_refused(server, dns):
    server.routes["/loop"] = redirect_to("/loop")
    policy = OutboundPolicy(allowed_hosts=["127.0.0.1"], max_redirects=2, timeout_seconds=2)
    with pytest.raises(OutboundRequestRefused, match="more than 2 redirects"):
        send("GET", server.url("/loop"), policy=policy, resolver=dns)
    assert len(server.received) == 3


def test_signed_request_verifies_at_the_receiver(server, dns, local_policy):
    def verify(handler: _Handler) -> None:
        request = handler.server.owner.received[-1]
        try:
            Webhook(SECRET).verify(request.body, request.headers)
        except Exception as exc:
            reply(handler, 401, str(exc).encode())
        else:
            reply(handler, 204)

    server.routes["/verify"] = verify
    body = json.dumps({"type": "run.finished", "data": {"id": 7, "name": "caf\u00e9"}}).encode()
    response = send(
        "POST",
        server.url("/verify"),
        body=body,
        signing_secret=SECRET,
        message_id="msg_2Lh9",
        policy=local_policy,
        resolver=dns,
    )
    assert response.status_code == 204, response.text
    headers = server.received[0].headers
    assert headers["webhook-id"] == "msg_2Lh9"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["webhook-signature"].startswith("v1,")


def test_signing_without_a_message_id_is_a_programming_error(local_policy):
    with pytest.raises(ValueError, match="message_id"):
        send("POST", "http://127.0.0.1:9/", body=b"{}", signing_secret=SECRET, policy=local_policy)


@pytest.mark.parametrize("name", ["Host", "Content-Length", "Transfer-Encoding"])
def test_framing_and_routing_headers_cannot_be_set_by_the_caller(name, local_policy):
    with pytest.raises(OutboundRequestRefused, match="cannot be overridden"):
        send("POST", "http://127.0.0.1:9/", headers={name: "1"}, body=b"{}", policy=local_policy)


def test_unusual_methods_are_refused(local_policy):
    with pytest.raises(OutboundRequestRefused, match="method 'CONNECT' is not allowed"):
        send("CONNECT", "http://127.0.0.1:9/", policy=local_policy)


# --- HTTPS: the pinned connection still verifies the certificate for the URL's name -----------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    # openssl ships with every machine this suite targets; a missing one fails loudly here.
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=hook.example.test"),
            *("-addext", "subjectAltName=DNS:hook.example.test"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    names: list[str | None] = []
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    local = LocalServer(tls=context)
    local.sni_names = names  # type: ignore[attr-defined]
    yield local
    local.close()


@pytest.fixture
def trust(certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def test_https_sends_the_host_name_as_sni_and_verifies_it_while_connecting_to_the_pinned_address(
    tls_server, dns, local_policy, trust
):
    response = send("GET", tls_server.url("/echo"), policy=local_policy, resolver=dns, ssl_context=trust)
    assert response.status_code == 201
    assert tls_server.sni_names == ["hook.example.test"]
    assert tls_server.received[0].headers["host"] == f"hook.example.test:{tls_server.port}"


def test_https_to_a_name_the_certificate_does_not_cover_fails(tls_server, dns, local_policy, trust):
    with pytest.raises(OutboundRequestFailed, match="certificate"):
        send(
            "GET",
            tls_server.url("/echo", host="other.example.test"),
            policy=local_policy,
            resolver=dns,
            ssl_context=trust,
        )
    assert tls_server.received == []


def test_redirect_from_https_to_plain_http_is_refused(tls_server, server, dns, local_policy, trust):
    tls_server.routes["/go"] = redirect_to(server.url("/echo"))
    with pytest.raises(OutboundRequestRefused, match="from https to plain http"):
        send("POST", tls_server.url("/go"), body=b"{}", policy=local_policy, resolver=dns, ssl_context=trust)
    assert server.received == []
