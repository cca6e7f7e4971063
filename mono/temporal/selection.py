"""Which workers a `runworkers` process hosts: its tenants, its shard, its queues.

Queues are either standing (polled at all times: the platform's, and the tenant queues named in
`TEMPORAL_WORKER_STANDING_QUEUES`, by default none) or on demand (started when work is announced
through `mono.temporal.demand` or found waiting, stopped when idle). Queues named explicitly with
`--queue` are standing: whoever asks for a queue by name wants it polled.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from mono.temporal import registry
from mono.temporal.client import platform_namespace, tenant_namespace
from mono.temporal.queues import Scope


@dataclass(frozen=True)
class TenantRef:
    """What the worker host needs to know about a tenant."""

    id: int
    retention_days: int = 90
    active: bool = True
    updated_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (1-based): owns the tenants whose id falls in its residue class."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        index, sep, count = text.partition("/")
        if sep and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count):
            return cls(int(index), int(count))
        raise ValueError(f"--shard must be K/N with 1 <= K <= N (for example 2/4), not {text!r}")

    def owns(self, tenant_id: int) -> bool:
        return tenant_id % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class WorkerSelection:
    """Which workers one process hosts. Empty sets mean "all"."""

    platform: bool = True
    tenants: bool = True
    namespaces: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()
    shard: Shard | None = None

    def wants_namespace(self, namespace: str) -> bool:
        return not self.namespaces or namespace in self.namespaces

    def wants_queue(self, queue_key: str) -> bool:
        return not self.queues or queue_key in self.queues

    def is_standing(self, registration: registry.Registration) -> bool:
        """Whether the host polls this registration's queue at all times."""
        if registration.queue.scope is Scope.PLATFORM or self.queues:
            return True
        return registration.queue.key in settings.TEMPORAL_WORKER_STANDING_QUEUES

    def wants_tenant(self, tenant_id: int) -> bool:
        return (
            self.tenants
            and (self.shard is None or self.shard.owns(tenant_id))
            and self.wants_namespace(tenant_namespace(tenant_id))
        )


WorkerKey = tuple[str, str]  # (namespace, task queue)


def desired_workers(
    selection: WorkerSelection,
    registrations: list[registry.Registration],
    tenants: Iterable[TenantRef],
) -> dict[WorkerKey, tuple[registry.Registration, TenantRef | None]]:
    """Every (namespace, task queue) the selection may host, with what runs there (standing
    and on-demand queues alike; see `WorkerSelection.is_standing`)."""

    def selected(scope: Scope) -> list[registry.Registration]:
        return [r for r in registrations if r.queue.scope is scope and selection.wants_queue(r.queue.key)]

    desired: dict[WorkerKey, tuple[registry.Registration, TenantRef | None]] = {}
    if selection.platform and selection.wants_namespace(platform_namespace()):
        for registration in selected(Scope.PLATFORM):
            desired[(platform_namespace(), registration.queue.name())] = (
                registration,
                None,
            )
    for tenant in tenants:
        if tenant.active and selection.wants_tenant(tenant.id):
            for registration in selected(Scope.TENANT):
                desired[(tenant_namespace(tenant.id), registration.queue.name(tenant.id))] = (registration, tenant)
    return desired
