"""The limits an outbound call runs under."""

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network

from mono.kernel.outbound.addresses import IPAddress, ends_in_number, is_dns_name


@dataclass(frozen=True)
class OutboundPolicy:
    """Limits for one kind of outbound call; build it once from settings and reuse it.

    ``allowed_hosts`` accepts any iterable of strings, each one of:

    - an exact host name (``hooks.internal``, ``localhost``);
    - a wildcard ``*.example.test``, matching any name below ``example.test`` but not ``example.test``;
    - an IP address or network (``127.0.0.1``, ``::1``, ``10.0.0.0/8``).

    A matching host name skips the address check for whatever it resolves to; an address entry
    permits connecting to that address whichever name led there. The list is for development and
    tests, never for tenant-supplied values. Ports are not part of an entry.

    ``timeout_seconds`` bounds the whole exchange, redirects and body included, and each read and
    write; ``connect_timeout_seconds`` bounds each TCP connect and TLS handshake.
    """

    allowed_hosts: frozenset[str] = frozenset()
    timeout_seconds: float = 10.0
    connect_timeout_seconds: float = 5.0
    max_response_bytes: int = 1_000_000
    max_redirects: int = 3
    _allowed_names: frozenset[str] = field(init=False, repr=False, compare=False)
    _allowed_suffixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _allowed_networks: tuple[IPv4Network | IPv6Network, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Normalise ``allowed_hosts`` and refuse entries and limits that cannot mean what was intended."""
        if isinstance(self.allowed_hosts, str):
            raise ValueError("allowed_hosts must be an iterable of host names, not one string")
        if self.timeout_seconds <= 0 or self.connect_timeout_seconds <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_response_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("max_response_bytes must be positive and max_redirects not negative")
        entries = frozenset(entry.strip().lower() for entry in self.allowed_hosts)
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPv4Network | IPv6Network] = []
        for entry in sorted(entries):
            network = _network_or_none(entry)
            if network is not None:
                networks.append(network)
            elif entry.startswith("*.") and is_dns_name(entry[2:]):
                suffixes.append(entry[1:])
            elif is_dns_name(entry) and not ends_in_number(entry):
                names.add(entry)
            else:
                raise ValueError(
                    f"allowed_hosts entry {entry!r} is not a host name, '*.domain' pattern, IP address or network"
                )
        # Frozen dataclass: derived fields can only be set through object.__setattr__.
        object.__setattr__(self, "allowed_hosts", entries)
        object.__setattr__(self, "_allowed_names", frozenset(names))
        object.__setattr__(self, "_allowed_suffixes", tuple(suffixes))
        object.__setattr__(self, "_allowed_networks", tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Tell whether the ASCII host name ``host`` is allow-listed by name or wildcard."""
        return host in self._allowed_names or any(host.endswith(suffix) for suffix in self._allowed_suffixes)

    def allows_address(self, address: IPAddress) -> bool:
        """Tell whether ``address`` is inside an allow-listed address or network."""
        return any(address in network for network in self._allowed_networks)


def _network_or_none(entry: str) -> IPv4Network | IPv6Network | None:
    try:
        return ip_network(entry.removeprefix("[").removesuffix("]"), strict=False)
    except ValueError:
        return None
