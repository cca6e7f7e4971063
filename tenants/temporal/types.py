"""Dataclasses passed between the tenant probe workflow and its activity."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TenantProbeInput:
    tenant_id: int


@dataclass(frozen=True)
class TenantProbeResult:
    tenant_id: int
    slug: str
    active: bool
    members_by_role: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatformProbeInput:
    requested_by: str = ""


@dataclass(frozen=True)
class PlatformProbeResult:
    active_tenants: int
    total_tenants: int
