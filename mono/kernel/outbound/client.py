"""Send one HTTP request under an ``OutboundPolicy`` and return the whole, size-capped response."""

import json
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.message import Message
from typing import Any

import httpx

from mono.kernel.outbound.errors import OutboundRequestRefused, ResponseTooLarge
from mono.kernel.outbound.policy import OutboundPolicy
from mono.kernel.outbound.signing import SIGNATURE_HEADERS, signature_headers
from mono.kernel.outbound.transport import Deadline, pinned_client
from mono.kernel.outbound.urls import CheckedURL, Resolver, check_url, refuse_ambiguous_characters

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Framing and routing headers belong to the client: a caller's value could smuggle a second
# request past the receiver's proxy or misroute a virtual host.
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive"}
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Sent only to the origin they were meant for, as browsers and httpx do.
_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")
# They describe, or sign, a body that a redirect to GET no longer sends.
_BODY_HEADERS = ("content-type", "content-encoding", "content-language", *SIGNATURE_HEADERS)


@dataclass(frozen=True)
class OutboundResponse:
    """A complete response: ``headers`` has lower-case names, repeated headers joined by ", "."""

    status_code: int
    headers: dict[str, str]
    body: bytes
    url: str
    elapsed_ms: float

    @property
    def is_success(self) -> bool:
        """Tell whether the status is 2xx."""
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        """The body decoded with the charset from Content-Type, UTF-8 when there is none."""
        message = Message()
        message["content-type"] = self.headers.get("content-type", "")
        charset = message.get_content_charset() or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class _Hop:
    method: str
    url: str
    headers: httpx.Headers
    body: bytes | None


def send(
    method: str,
    url: str,
    *,
    policy: OutboundPolicy,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    signing_secret: str | None = None,
    message_id: str | None = None,
    resolver: Resolver = socket.getaddrinfo,
    ssl_context: ssl.SSLContext | None = None,
) -> OutboundResponse:
    """Send ``method url`` and return the response, following redirects only to URLs that pass the policy.

    Each hop is checked and resolved once, then connected to exactly that address. With
    ``signing_secret`` (a ``whsec_...`` key) the body is signed with Standard Webhooks headers;
    ``message_id`` is then required and should be the same on every retry of one delivery.
    ``ssl_context`` replaces the default CA bundle, for private CAs. Responses are requested
    without content encoding and returned as received.

    Raises ``OutboundRequestRefused`` (including ``ResponseTooLarge``) when the policy forbids the
    request, ``OutboundRequestFailed`` (including ``OutboundTimeout``) when it could not complete,
    and ``ValueError`` for a signing argument used wrongly.
    """
    started = time.monotonic()
    deadline = Deadline(policy.timeout_seconds)
    timeout = httpx.Timeout(policy.timeout_seconds, connect=policy.connect_timeout_seconds)
    hop = _Hop(_checked_method(method), url, _request_headers(headers, body, signing_secret, message_id), body)
    redirects = 0
    while True:
        checked = _check_hop(hop, redirects=redirects, policy=policy, resolver=resolver)
        with (
            pinned_client(checked, deadline=deadline, timeout=timeout, ssl_context=ssl_context) as client,
            client.stream(hop.method, checked.url, headers=hop.headers, content=hop.body) as response,
        ):
            location = response.headers.get("location") if response.status_code in _REDIRECT_STATUSES else None
            if location is None:
                return OutboundResponse(
                    status_code=response.status_code,
                    headers=dict(response.headers.items()),
                    body=_read_capped(response, policy.max_response_bytes, hop.method),
                    url=str(checked.url),
                    elapsed_ms=(time.monotonic() - started) * 1000,
                )
        if redirects == policy.max_redirects:
            raise OutboundRequestRefused(f"more than {policy.max_redirects} redirects (the last to {location!r})")
        hop = _next_hop(hop, checked, response.status_code, location)
        redirects += 1


def _checked_method(method: str) -> str:
    if method.upper() not in METHODS:
        raise OutboundRequestRefused(f"method {method!r} is not allowed; use one of {', '.join(sorted(METHODS))}")
    return method.upper()


def _request_headers(
    headers: Mapping[str, str] | None, body: bytes | None, signing_secret: str | None, message_id: str | None
) -> httpx.Headers:
    result = httpx.Headers()
    for name, value in (headers or {}).items():
        if name.lower() in _RESERVED_HEADERS:
            raise OutboundRequestRefused(f"header {name!r} is set by the client and cannot be overridden")
        if any(character in value for character in "\r\n\0"):
            raise OutboundRequestRefused(f"header {name!r} contains a line break or NUL")
        result[name] = value
    # The body is stored as received, capped in bytes; a compressed body could expand far past the cap.
    result["accept-encoding"] = "identity"
    if signing_secret is not None:
        if not message_id:
            raise ValueError("signing needs a message_id, the same on every retry of one delivery")
        result.update(signature_headers(secret=signing_secret, message_id=message_id, body=body or b""))
    elif message_id is not None:
        raise ValueError("message_id is only used with signing_secret")
    return result


def _check_hop(hop: _Hop, *, redirects: int, policy: OutboundPolicy, resolver: Resolver) -> CheckedURL:
    try:
        return check_url(hop.url, policy=policy, resolver=resolver)
    except OutboundRequestRefused as exc:
        if redirects == 0:
            raise
        raise OutboundRequestRefused(f"redirect to {hop.url}: {exc.reason}") from exc


def _next_hop(hop: _Hop, checked: CheckedURL, status_code: int, location: str) -> _Hop:
    refuse_ambiguous_characters(location, what=f"redirect location {location!r}")
    try:
        target = checked.url.join(location)
    except httpx.InvalidURL as exc:
        raise OutboundRequestRefused(f"redirect to {location!r} is not a valid URL: {exc}") from exc
    if checked.url.scheme == "https" and target.scheme == "http":
        raise OutboundRequestRefused(f"redirect from https to plain http ({target}) is not followed")
    headers = hop.headers.copy()
    method, body = hop.method, hop.body
    # The browser rules, which httpx follows too: 303 always, and 301/302 after a POST, become a GET.
    if (status_code == 303 and method != "HEAD") or (status_code in (301, 302) and method == "POST"):
        method, body = "GET", None
        for name in _BODY_HEADERS:
            headers.pop(name, None)
    if (target.scheme, target.host, target.port) != (checked.url.scheme, checked.url.host, checked.url.port):
        for name in _CREDENTIAL_HEADERS:
            headers.pop(name, None)
    return replace(hop, method=method, url=str(target), headers=headers, body=body)


def _read_capped(response: httpx.Response, limit: int, method: str) -> bytes:
    declared = response.headers.get("content-length", "")
    # A HEAD response declares the length of a body it does not send.
    if method != "HEAD" and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"the response declares {declared} bytes, over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(f"the response body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)
