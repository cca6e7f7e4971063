"""Sharing one worker host's activity threads fairly between tenants.

Two pieces, both shared by every worker of a `runworkers` process:

- `TenantSlots`, a temporalio `CustomSlotSupplier`: one per tenant, given to all of that tenant's
  workers (its `workflows`, `llm-processing`, image and e-mail queues). It hands out at most
  `limit` activity slots at once, a configured share of the host's threads. A worker polls only
  while it holds a slot, so the tasks of a tenant at its limit wait in Temporal's queue, not here.
- `FairExecutor`: the host's activity threads. Each tenant submits through its own view of it
  (`executor.for_tenant(id)`); when every thread is busy, waiting tasks are taken one tenant at a
  time, round robin, so a tenant with many queued tasks cannot push another tenant's to the back.

Together: a burst from one tenant takes at most its share of the threads, and another tenant's
task waits at most for one task of each busy tenant ahead of it in the round.
"""

import asyncio
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from temporalio.worker import (
    CustomSlotSupplier,
    SlotMarkUsedContext,
    SlotPermit,
    SlotReleaseContext,
    SlotReserveContext,
)


class TenantSlots(CustomSlotSupplier):
    """At most `limit` slots at once, shared by every worker given this supplier.

    The SDK reserves on the worker's event loop but may release from its own threads, so the count
    is guarded by a lock and waiters are woken on their own loop. A freed slot passes straight to
    the oldest waiter, so waiters are served in order.
    """

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError("a tenant needs at least one slot")
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()

    async def reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit:
        with self._lock:
            if self.held < self.limit and not self._waiters:
                self.held += 1
                return SlotPermit()
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()
            self._waiters.append((loop, waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            with self._lock:
                try:
                    self._waiters.remove((loop, waiter))
                except ValueError:
                    pass  # already handed a slot: `_grant` sees the cancellation and frees it
            raise
        return SlotPermit()

    def try_reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit | None:
        with self._lock:
            if self.held < self.limit and not self._waiters:
                self.held += 1
                return SlotPermit()
        return None

    def mark_slot_used(self, ctx: SlotMarkUsedContext) -> None:
        pass

    def release_slot(self, ctx: SlotReleaseContext | None = None) -> None:
        with self._lock:
            if not self._waiters:
                self.held -= 1
                return
            loop, waiter = self._waiters.popleft()  # the slot passes on: `held` stays
        try:
            loop.call_soon_threadsafe(self._grant, waiter)
        except RuntimeError:  # that loop is closed: nobody waits there any more
            self.release_slot()

    def _grant(self, waiter: asyncio.Future) -> None:
        if waiter.done():  # cancelled meanwhile: pass the slot on
            self.release_slot()
        else:
            waiter.set_result(None)


class FairExecutor:
    """`threads` threads running tasks from per-tenant queues, one tenant at a time, round robin."""

    def __init__(self, threads: int, *, name: str = "activity"):
        self.threads = threads
        self._queues: OrderedDict[Any, deque] = OrderedDict()  # tenant -> waiting tasks, in turn order
        self._ready = threading.Condition()
        self._closed = False
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}-{number}", daemon=True) for number in range(threads)
        ]
        for worker in self._workers:
            worker.start()

    def for_tenant(self, tenant: Any) -> "TenantExecutor":
        """The executor one tenant's workers are given."""
        return TenantExecutor(self, tenant)

    def submit(self, tenant: Any, fn: Callable, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("cannot schedule new tasks after shutdown")
            self._queues.setdefault(tenant, deque()).append((future, fn, args, kwargs))
            self._ready.notify()
        return future

    def waiting(self) -> int:
        with self._ready:
            return sum(len(queue) for queue in self._queues.values())

    def shutdown(self, wait: bool = True) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        if wait:
            for worker in self._workers:
                worker.join()

    def _next(self):
        with self._ready:
            while not self._queues:
                if self._closed:
                    return None
                self._ready.wait()
            tenant, queue = next(iter(self._queues.items()))
            task = queue.popleft()
            # This tenant's turn is over: it goes to the back of the round (or leaves it, if done).
            del self._queues[tenant]
            if queue:
                self._queues[tenant] = queue
            return task

    def _work(self) -> None:
        while (task := self._next()) is not None:
            future, fn, args, kwargs = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)


class TenantExecutor(ThreadPoolExecutor):
    """One tenant's view of a `FairExecutor`.

    It subclasses `ThreadPoolExecutor` only because the SDK runs sync activities with thread
    semantics (cancellation, heartbeats, context) solely for that type; it never starts a thread
    of its own, every task goes to the shared pool.
    """

    def __init__(self, pool: FairExecutor, tenant: Any):
        super().__init__(max_workers=1)
        self._pool = pool
        self._tenant = tenant

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        return self._pool.submit(self._tenant, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass  # the pool belongs to the host, which shuts it down once
