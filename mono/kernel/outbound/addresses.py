"""Which hosts and IP addresses an outbound request may reach.

The tables follow the IANA IPv4 and IPv6 Special-Purpose Address Registries. They are spelled out
rather than taken from ``ipaddress``'s ``is_global``/``is_private``, because those flags have changed
between Python releases and a refusal should name the range that caused it.
"""

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address

# First match wins, so a range must come before any range that contains it.
_IPV4_REFUSED: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(network), label)
    for network, label in (
        ("255.255.255.255/32", "the broadcast address"),
        ("0.0.0.0/8", "unspecified ('this network')"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (where cloud metadata services live)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved for IETF protocol assignments"),
        ("192.0.2.0/24", "reserved for documentation"),
        ("192.88.99.0/24", "the deprecated 6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved for benchmarking"),
        ("198.51.100.0/24", "reserved for documentation"),
        ("203.0.113.0/24", "reserved for documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_IPV6_REFUSED: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(network), label)
    for network, label in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "a deprecated IPv4-compatible address"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001:2::/48", "reserved for benchmarking"),
        ("2001:10::/28", "a deprecated ORCHID identifier"),
        ("2001:20::/28", "an ORCHIDv2 identifier"),
        ("2001:db8::/32", "reserved for documentation"),
        ("3fff::/20", "reserved for documentation"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
)

# Everything routable on the IPv6 internet is in 2000::/3; the rest is reserved by the IETF.
_IPV6_GLOBAL_UNICAST = IPv6Network("2000::/3")
_NAT64 = IPv6Network("64:ff9b::/96")

_CANONICAL_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|\d+")
_DNS_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def address_refusal(address: IPAddress) -> str | None:
    """Return why ``address`` must not be contacted, or None when it is publicly routable.

    IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are judged by the
    IPv4 address they embed, since that is where the packets end up.
    """
    if isinstance(address, IPv4Address):
        match = _refused_ipv4_range(address)
        return None if match is None else f"address {address} is {match[1]} ({match[0]})"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        form, ipv4_addresses = embedded
        for ipv4 in ipv4_addresses:
            match = _refused_ipv4_range(ipv4)
            if match is not None:
                return f"address {address} is a {form} address embedding {ipv4}, which is {match[1]} ({match[0]})"
        return None
    for network, label in _IPV6_REFUSED:
        if address in network:
            return f"address {address} is {label} ({network})"
    if address not in _IPV6_GLOBAL_UNICAST:
        return f"address {address} is reserved (outside global unicast {_IPV6_GLOBAL_UNICAST})"
    return None


def canonical_ipv4(host: str) -> IPv4Address | None:
    """Return ``host`` as an address when it is plain dotted-decimal IPv4 (``192.0.2.1``), else None."""
    return IPv4Address(host) if _CANONICAL_IPV4.fullmatch(host) else None


def ends_in_number(host: str) -> bool:
    """Tell whether URL parsers and ``inet_aton`` would read ``host`` as an IPv4 address.

    That is the WHATWG URL rule: a host whose last label is decimal or ``0x`` hex is an IPv4
    address, however it is spelled (``2130706433``, ``0x7f.1``, ``127.1``).
    """
    return bool(_NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]))


def is_dns_name(host: str) -> bool:
    """Tell whether ``host`` is a lower-case ASCII DNS name without a trailing dot."""
    return len(host) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in host.split("."))


def _refused_ipv4_range(address: IPv4Address) -> tuple[IPv4Network, str] | None:
    for network, label in _IPV4_REFUSED:
        if address in network:
            return network, label
    return None


def _embedded_ipv4(address: IPv6Address) -> tuple[str, tuple[IPv4Address, ...]] | None:
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", (address.ipv4_mapped,)
    if address in _NAT64:
        return "NAT64", (IPv4Address(int(address) & 0xFFFF_FFFF),)
    if address.sixtofour is not None:
        return "6to4", (address.sixtofour,)
    if address.teredo is not None:
        server, client = address.teredo
        return "Teredo", (client, server)
    return None
