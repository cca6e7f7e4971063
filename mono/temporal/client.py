"""Temporal clients, one connection per event loop, one cheap `Client` per namespace.

The SDK client is bound to the event loop it was created on, so connections are cached per
loop; namespace clients share that loop's connection (`Client(service_client, namespace=...)`).
Sync code (views, services, commands) goes through `mono.temporal.sync.run`.
"""

import asyncio
import weakref
from datetime import timedelta

from django.conf import settings
from temporalio.client import Client

from mono.temporal.codec import data_converter_for
from mono.temporal.demand import DemandInterceptor, for_namespace


class TemporalUnavailable(RuntimeError):
    """Temporal could not be reached; the message says where it was looked for."""


_connections: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Client]" = weakref.WeakKeyDictionary()


def platform_namespace() -> str:
    return settings.TEMPORAL_PLATFORM_NAMESPACE


def tenant_namespace(tenant_id: int) -> str:
    return f"{settings.TEMPORAL_TENANT_NAMESPACE_PREFIX}{tenant_id}"


async def connect(namespace: str | None = None) -> Client:
    """Return a client for `namespace` (default: `TEMPORAL_NAMESPACE`) on the running loop."""
    loop = asyncio.get_running_loop()
    base = _connections.get(loop)
    if base is None:
        address = settings.TEMPORAL_ADDRESS
        try:
            base = await Client.connect(
                address,
                namespace=settings.TEMPORAL_NAMESPACE,
                data_converter=data_converter_for(settings.TEMPORAL_NAMESPACE),
                interceptors=[DemandInterceptor(settings.TEMPORAL_NAMESPACE)],
                connect_timeout=timedelta(seconds=settings.TEMPORAL_CONNECT_TIMEOUT_SECONDS),
            )
        except RuntimeError as exc:
            raise TemporalUnavailable(f"Cannot reach Temporal at {address} (TEMPORAL_ADDRESS): {exc}") from exc
        _connections[loop] = base
    if namespace is None or namespace == base.namespace:
        return base
    # Everything the base client was built with (interceptors), for another namespace, with that
    # namespace's own data converter: each namespace encrypts with its own keys.
    config = base.config()
    config["namespace"] = namespace
    config["interceptors"] = for_namespace(config["interceptors"], namespace)
    config["data_converter"] = data_converter_for(namespace)
    return Client(**config)


async def get_platform_client() -> Client:
    return await connect(platform_namespace())


async def get_tenant_client(tenant) -> Client:
    """Client for the tenant's own namespace; `tenant` is a Tenant or its id."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    return await connect(tenant_namespace(tenant_id))


def forget_connections() -> None:
    """Drop cached connections (after TEMPORAL_ADDRESS changes, e.g. in tests)."""
    _connections.clear()


def namespace_tenant_id(namespace: str) -> int | None:
    """The id of the tenant whose namespace this is, or None (platform or anything else)."""
    prefix = settings.TEMPORAL_TENANT_NAMESPACE_PREFIX
    rest = namespace[len(prefix) :] if namespace.startswith(prefix) else ""
    # Exactly one tenant per namespace: `mono-tenant-07` or `mono-tenant-7x` name none.
    return int(rest) if rest.isdigit() and str(int(rest)) == rest else None
