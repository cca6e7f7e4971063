"""Validate an outbound URL and choose the one address the request will connect to."""

import re
import socket
from collections.abc import Callable, Sequence
from ipaddress import IPv6Address, ip_address
from typing import Any, NamedTuple

import httpx

from mono.kernel.outbound.addresses import IPAddress, address_refusal, canonical_ipv4, ends_in_number, is_dns_name
from mono.kernel.outbound.errors import OutboundRequestFailed, OutboundRequestRefused
from mono.kernel.outbound.policy import OutboundPolicy

# Same call shape as ``socket.getaddrinfo``; tests pass a fake to script DNS answers.
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

DEFAULT_PORTS = {"http": 80, "https": 443}

# Parsers disagree about these (WHATWG reads a backslash as a slash, httpx as userinfo), and a
# disagreement between the checker and the connector is exactly how SSRF filters get bypassed.
_AMBIGUOUS_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")


class CheckedURL(NamedTuple):
    """A URL that passed every check, and the address the request must connect to."""

    url: httpx.URL
    address: IPAddress

    @property
    def port(self) -> int:
        """The port to connect to, the scheme's default when the URL names none."""
        return self.url.port or DEFAULT_PORTS[self.url.scheme]


def check_url(url: str, *, policy: OutboundPolicy, resolver: Resolver = socket.getaddrinfo) -> CheckedURL:
    """Check ``url`` against ``policy``, resolve its host once and return the address to pin.

    Every resolved address must pass (an attacker who controls DNS can mix a private answer among
    public ones); the first is pinned. IP literals are not resolved. Raises
    ``OutboundRequestRefused`` with the reason, or ``OutboundRequestFailed`` when DNS gives no answer.
    """
    refuse_ambiguous_characters(url, what="URL")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise OutboundRequestRefused(f"invalid URL: {exc}") from exc
    if parsed.scheme not in DEFAULT_PORTS:
        raise OutboundRequestRefused(f"scheme {parsed.scheme or '(none)'!r} is not allowed; use http or https")
    if parsed.userinfo:
        raise OutboundRequestRefused("credentials (userinfo) in the URL are not allowed; send them as headers")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise OutboundRequestRefused(f"port {parsed.port} is out of range")
    # raw_host is the ASCII (IDNA-encoded) form, which is what DNS and the allow-list see.
    host = parsed.raw_host.decode("ascii")
    literal = _ip_literal(host)
    if literal is not None:
        refusal = _address_refusal(literal, policy)
        if refusal is not None:
            raise OutboundRequestRefused(refusal)
        return CheckedURL(parsed, literal)
    addresses = _resolve(host, parsed.port or DEFAULT_PORTS[parsed.scheme], resolver)
    if not policy.allows_host(host):
        for address in addresses:
            refusal = _address_refusal(address, policy)
            if refusal is not None:
                raise OutboundRequestRefused(f"host {host!r} resolves to {address}: {refusal}")
    return CheckedURL(parsed, addresses[0])


def refuse_ambiguous_characters(text: str, *, what: str) -> None:
    """Refuse URLs with whitespace, control characters or backslashes, which parsers read differently."""
    match = _AMBIGUOUS_CHARACTERS.search(text)
    if match is not None:
        raise OutboundRequestRefused(
            f"{what} contains {match.group()!r}; whitespace, control characters and \\ are not allowed"
        )


def _ip_literal(host: str) -> IPAddress | None:
    """Return the address a literal host names, None for a DNS name, refusing spellings that are neither."""
    if not host:
        raise OutboundRequestRefused("the URL has no host")
    if ":" in host:
        if "%" in host:
            raise OutboundRequestRefused(f"IPv6 zone identifiers are not allowed ({host!r})")
        try:
            return IPv6Address(host)
        except ValueError as exc:
            raise OutboundRequestRefused(f"host {host!r} is not a valid IPv6 address") from exc
    if "%" in host:
        # Other parsers decode it first: "%31%32%37.0.0.1" is 127.0.0.1 to them.
        raise OutboundRequestRefused(f"host {host!r} is percent-encoded")
    ipv4 = canonical_ipv4(host)
    if ipv4 is not None:
        return ipv4
    if host.endswith("."):
        raise OutboundRequestRefused(f"host {host!r} ends with a dot; write it without one")
    if ends_in_number(host):
        # Resolvers read these as IPv4 (inet_aton style) while an allow-list would read them as
        # names, so refuse rather than guess; say what they mean to make the refusal clear.
        try:
            meaning = f" (read as {socket.inet_ntoa(socket.inet_aton(host))})"
        except OSError:
            meaning = ""
        raise OutboundRequestRefused(
            f"host {host!r} is a non-canonical IPv4 spelling{meaning}; write the address in dotted decimal"
        )
    if not is_dns_name(host):
        raise OutboundRequestRefused(f"host {host!r} is not a valid DNS name")
    return None


def _address_refusal(address: IPAddress, policy: OutboundPolicy) -> str | None:
    return None if policy.allows_address(address) else address_refusal(address)


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        answers = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundRequestFailed(f"could not resolve host {host!r}: {exc}") from exc
    addresses: list[IPAddress] = []
    for family, _type, _proto, _canonname, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # A link-local IPv6 answer may carry a zone ("fe80::1%eth0"); the address is what we judge.
        address = ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundRequestFailed(f"host {host!r} resolved to no IP addresses")
    return addresses
