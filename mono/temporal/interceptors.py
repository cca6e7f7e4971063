"""Worker interceptors: fresh Django connections per activity, and activities bound to their namespace's tenant."""

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from mono.temporal.client import namespace_tenant_id

TENANT_MISMATCH = "TenantMismatch"


class DjangoConnectionInterceptor(Interceptor):
    """Give each sync activity fresh Django DB connections, in the thread it runs on.

    The SDK calls interceptors on the event loop but runs sync activity functions on the
    executor's threads, and Django connections are per thread; so the activity function itself
    is wrapped: stale or broken connections are dropped before the work starts and after it
    ends, as Django does around each request. `on_activity` lets the worker manager note when
    a queue last did work.
    """

    def __init__(self, on_activity: Callable[[], None] | None = None):
        self._on_activity = on_activity

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ConnectionScopedActivity(next, self._on_activity)


class _ConnectionScopedActivity(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, on_activity: Callable[[], None] | None):
        super().__init__(next)
        self._on_activity = on_activity

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if self._on_activity:
            self._on_activity()
        if inspect.iscoroutinefunction(input.fn):
            return await super().execute_activity(input)
        return await super().execute_activity(dataclasses.replace(input, fn=with_fresh_connections(input.fn)))


def with_fresh_connections(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return run


class NamespaceTenantInterceptor(Interceptor):
    """An activity in a tenant's namespace acts for that tenant only.

    The namespace an activity runs in (`mono-tenant-{id}`) names exactly one tenant. An input
    whose `tenant_id` (or any of its `tenant_ids`) names another tenant is refused with a
    non-retryable `ApplicationError` before the activity body runs, so nothing is written and no
    credential of the other tenant is used. Platform-namespace work is the one place that names
    tenants explicitly, and passes unchecked. One mechanism here instead of a check in each activity.
    """

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _NamespaceBoundActivity(next)


class _NamespaceBoundActivity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        namespace = activity.info().workflow_namespace
        tenant_id = namespace_tenant_id(namespace)
        if tenant_id is not None:
            for arg in input.args:
                named = {getattr(arg, "tenant_id", None), *(getattr(arg, "tenant_ids", None) or ())} - {None}
                if named - {tenant_id}:
                    raise ApplicationError(
                        f"activity {activity.info().activity_type} in namespace {namespace} refused: its input "
                        f"names tenant {sorted(named - {tenant_id})[0]}, not {tenant_id}",
                        type=TENANT_MISMATCH,
                        non_retryable=True,
                    )
        return await super().execute_activity(input)


def activity_tenant_id() -> int:
    """The tenant the running activity acts for: the one its namespace names.

    Activities that need their tenant take it from here (or from an input the interceptor above
    has already checked); a platform activity has none and gets a non-retryable error.
    """
    namespace = activity.info().workflow_namespace
    tenant_id = namespace_tenant_id(namespace)
    if tenant_id is None:
        raise ApplicationError(f"namespace {namespace} belongs to no tenant", type=TENANT_MISMATCH, non_retryable=True)
    return tenant_id
