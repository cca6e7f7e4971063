"""Provision Temporal namespaces: `mono-platform` and one `mono-tenant-{id}` per tenant.

`ensure()` is idempotent: a missing namespace is registered, one whose retention differs is
updated, anything else is left alone. Registering Mono's search attributes is best effort: a
server that refuses (e.g. a hosted one without operator rights) is reported, not fatal.
"""

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from mono.temporal import search_attributes
from mono.temporal.client import platform_namespace, tenant_namespace

NEW_NAMESPACE_VISIBILITY_SECONDS = 20.0


# Errors worth another try: the server is busy or restarting (as a dev server under load can be);
# CANCELLED is how the client reports its own RPC timeout ("Timeout expired").
TRANSIENT = (
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
)
ATTEMPTS = 3


class Action(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True)
class NamespaceResult:
    namespace: str
    action: Action
    retention_days: int
    search_attributes: str  # "registered", "present" or why they were skipped
    error: str = ""  # why it failed (action FAILED)


@dataclass(frozen=True)
class TenantNamespaceSpec:
    tenant_id: int
    retention_days: int
    description: str = ""


def _days(duration: Duration) -> float:
    return duration.ToTimedelta() / timedelta(days=1)


class TemporalNamespaceManager:
    """Creates and updates Mono's namespaces through one connected client."""

    def __init__(self, client: Client):
        self._service = client.workflow_service
        self._operator = client.operator_service

    async def ensure(self, namespace: str, *, retention_days: int, description: str = "") -> NamespaceResult:
        retention = Duration()
        retention.FromTimedelta(timedelta(days=retention_days))
        action = await self._ensure_namespace(namespace, retention, description)
        attributes = await self._ensure_search_attributes(namespace)
        return NamespaceResult(namespace, action, retention_days, attributes)

    async def ensure_platform(self) -> NamespaceResult:
        return await self.ensure(
            platform_namespace(),
            retention_days=settings.TEMPORAL_PLATFORM_RETENTION_DAYS,
            description="Mono platform jobs",
        )

    async def ensure_tenant(self, spec: TenantNamespaceSpec) -> NamespaceResult:
        return await self.ensure(
            tenant_namespace(spec.tenant_id),
            retention_days=spec.retention_days,
            description=spec.description,
        )

    async def ensure_tenants(
        self,
        specs: Iterable[TenantNamespaceSpec],
        *,
        concurrency: int = 8,
        on_result: Callable[[NamespaceResult], None] | None = None,
    ) -> list[NamespaceResult]:
        """Provision many tenants, a few at a time; results come back in input order.

        One tenant's failure is its result (action FAILED, with the error), never the end of the
        others: a transient error is retried a few times first. Every step is idempotent, so a
        run cut short (a crash, Ctrl-C) is resumed by running it again."""
        gate = asyncio.Semaphore(concurrency)

        async def one(spec: TenantNamespaceSpec) -> NamespaceResult:
            async with gate:
                result = await self._ensure_tenant_or_failure(spec)
            if on_result:
                on_result(result)
            return result

        return list(await asyncio.gather(*(one(spec) for spec in specs)))

    async def _ensure_tenant_or_failure(self, spec: TenantNamespaceSpec) -> NamespaceResult:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self.ensure_tenant(spec)
            except RPCError as exc:
                if exc.status in TRANSIENT and attempt < ATTEMPTS:
                    await asyncio.sleep(0.5 * 2**attempt)
                    continue
                error = f"{exc.status.name if exc.status else 'error'}: {exc.message}"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            return NamespaceResult(
                tenant_namespace(spec.tenant_id), Action.FAILED, spec.retention_days, "", error=error
            )
        raise AssertionError("unreachable")

    async def retention_days(self, namespace: str) -> float:
        """The retention the server holds for `namespace`, in days."""
        described = await self._service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        return _days(described.config.workflow_execution_retention_ttl)

    async def _ensure_namespace(self, namespace: str, retention: Duration, description: str) -> Action:
        try:
            described = await self._service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        else:
            if described.config.workflow_execution_retention_ttl == retention:
                return Action.UNCHANGED
            await self._service.update_namespace(
                UpdateNamespaceRequest(
                    namespace=namespace,
                    config=NamespaceConfig(workflow_execution_retention_ttl=retention),
                )
            )
            return Action.UPDATED
        try:
            await self._service.register_namespace(
                RegisterNamespaceRequest(
                    namespace=namespace,
                    description=description,
                    workflow_execution_retention_period=retention,
                )
            )
        except RPCError as exc:
            # Another process registered it between our describe and register: converge on it.
            if exc.status != RPCStatusCode.ALREADY_EXISTS:
                raise
            return await self._ensure_namespace(namespace, retention, description)
        return Action.CREATED

    async def _ensure_search_attributes(self, namespace: str) -> str:
        try:
            listed = await self._list_search_attributes(namespace)
            missing = {
                name: kind for name, kind in search_attributes.ALL.items() if name not in listed.custom_attributes
            }
            if not missing:
                return "present"
            await self._operator.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
        except RPCError as exc:
            if exc.status in (
                RPCStatusCode.UNAVAILABLE,
                RPCStatusCode.DEADLINE_EXCEEDED,
            ):
                raise
            return f"skipped: {exc.message}"
        return "registered"

    async def _list_search_attributes(self, namespace: str):
        # The operator service reads namespaces through a cache that learns of a new namespace a
        # moment after it is registered; wait for it rather than report a false "not found".
        delay = 0.05  # the cache catches up within ~0.3-1.5 s here: poll finely, not exponentially
        deadline = asyncio.get_running_loop().time() + NEW_NAMESPACE_VISIBILITY_SECONDS
        while True:
            try:
                return await self._operator.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND or asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.2)
