"""Worker interceptors."""

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


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
