"""The worker host behind `manage.py runworkers`.

`TemporalWorkerManager` hosts one Temporal `Worker` per (namespace, task queue) its selection
allows: the platform queues in the platform namespace, and each selected tenant's queues in that
tenant's namespace. What costs the Temporal server and this process at rest is kept small:

- Standing queues (the platform's, and any in `TEMPORAL_WORKER_STANDING_QUEUES`) are polled at
  all times. A tenant's queues start when work is started there (`mono.temporal.demand`,
  PostgreSQL LISTEN/NOTIFY) and stop after `TEMPORAL_WORKER_IDLE_SECONDS` without activity, open
  workflows or (for `workflows`) schedules. When its LISTEN connection opens (at start, after an
  outage) the host also starts the queues that have such work waiting.
- Every worker shares the host's threads and slots (`mono.temporal.hosting`), fairly per tenant.
- Tenants are re-read every `TEMPORAL_WORKER_REFRESH_SECONDS`, but only those changed since the
  last round (`tenant_changes`), with a full listing every `TEMPORAL_WORKER_FULL_REFRESH_SECONDS`.

`request_stop()` shuts every worker down gracefully. The manager knows nothing of the tenants'
models: it is handed callables returning `TenantRef`s (the tenants app provides them).
"""

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from temporalio.worker import Worker

from mono.temporal import demand, queues, registry
from mono.temporal.client import connect, platform_namespace, tenant_namespace
from mono.temporal.hosting import PLATFORM, HostResources, build_worker
from mono.temporal.interceptors import with_fresh_connections
from mono.temporal.namespaces import TemporalNamespaceManager, TenantNamespaceSpec
from mono.temporal.queues import Scope
from mono.temporal.selection import (  # re-exported: the worker host's public names
    Shard,
    TenantRef,
    WorkerKey,
    WorkerSelection,
    desired_workers,
)
from mono.temporal.worker_state import WorkerState, note_exit

logger = logging.getLogger(__name__)

# A change committed slightly out of order with `updated_at` is still seen: each incremental read
# starts this much before the newest change already read.
CHANGE_OVERLAP = timedelta(seconds=5)


@dataclass
class _Tenants:
    """The tenants a host knows, and where the next incremental read starts."""

    refs: dict[int, TenantRef] = field(default_factory=dict)
    cursor: datetime | None = None
    full_at: float = 0.0

    def apply(self, refs: Iterable[TenantRef], *, full: bool) -> None:
        if full:
            self.refs = {}
        for ref in refs:
            if ref.active:
                self.refs[ref.id] = ref
            else:
                self.refs.pop(ref.id, None)
            if ref.updated_at and (self.cursor is None or ref.updated_at - CHANGE_OVERLAP > self.cursor):
                self.cursor = ref.updated_at - CHANGE_OVERLAP


class TemporalWorkerManager:
    """Hosts and reconciles the Temporal workers of one `runworkers` process."""

    def __init__(
        self,
        *,
        tenant_source: Callable[[], Iterable[TenantRef]],
        tenant_changes: Callable[[datetime], Iterable[TenantRef]] | None = None,
        selection: WorkerSelection = WorkerSelection(),
        registrations: list[registry.Registration] | None = None,
        refresh_seconds: float | None = None,
        activity_threads: int | None = None,
        shutdown_seconds: float | None = None,
        idle_seconds: float | None = None,
        listen: bool = True,
    ):
        self.selection = selection
        self._tenant_source = with_fresh_connections(lambda: list(tenant_source()))
        self._tenant_changes = (
            with_fresh_connections(lambda since: list(tenant_changes(since))) if tenant_changes else None
        )
        self._registrations = registrations if registrations is not None else registry.registrations()
        self._refresh_seconds = refresh_seconds or settings.TEMPORAL_WORKER_REFRESH_SECONDS
        self._idle_seconds = settings.TEMPORAL_WORKER_IDLE_SECONDS if idle_seconds is None else idle_seconds
        self._activity_threads = activity_threads or settings.TEMPORAL_WORKER_ACTIVITY_THREADS
        self._shutdown_grace = timedelta(
            seconds=settings.TEMPORAL_WORKER_SHUTDOWN_SECONDS if shutdown_seconds is None else shutdown_seconds
        )
        self._listen = listen
        self._tenants = _Tenants()
        self._allowed: dict[WorkerKey, tuple[registry.Registration, TenantRef | None]] = {}
        self._workers: dict[WorkerKey, WorkerState] = {}
        self._changing: dict[WorkerKey, asyncio.Task] = {}  # starts and stops under way
        self._redemanded: set[WorkerKey] = set()  # demand that arrived while the worker was stopping
        # Demand for a tenant this host should own but does not know yet (created since the last
        # refresh): kept, a refresh is run at once, and the demand is retried after it.
        self._unknown: dict[WorkerKey, float] = {}
        self._wake: asyncio.Event | None = None
        self._provisioned: set[str] = set()
        self._namespaces: TemporalNamespaceManager | None = None
        self._resources: HostResources | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.reconciled = asyncio.Event()  # set after each reconcile; tests and readiness wait on it
        self.stopped = threading.Event()  # set once every worker has shut down
        self.last_reconcile_error: str | None = None

    # Lifecycle -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Host workers until `request_stop()`; then shut them down gracefully."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._namespaces = TemporalNamespaceManager(await connect())
        tenant_queues = sum(1 for r in self._registrations if r.queue.scope is Scope.TENANT)
        self._resources = HostResources(
            activity_threads=self._activity_threads,
            workflow_threads=settings.TEMPORAL_WORKER_WORKFLOW_THREADS,
            tenant_share=settings.TEMPORAL_WORKER_TENANT_ACTIVITY_SHARE,
            min_tenant_slots=tenant_queues + 1,
        )
        listener: asyncio.Task | None = None
        try:
            while not self._stop.is_set():
                try:
                    self.last_reconcile_error = None
                    await self._reconcile()
                except Exception as exc:  # keep hosting what runs; try again next round
                    logger.exception("worker reconcile failed")
                    self.last_reconcile_error = str(exc)
                if listener is None and self._listen:
                    listener = asyncio.create_task(demand.listen(self.demand, self._sweep), name="worker demand")
                self.reconciled.set()
                await self._sleep_until_next_round()
        finally:
            if listener:
                listener.cancel()
            await asyncio.gather(*self._changing.values(), return_exceptions=True)
            await self._stop_workers(list(self._workers))
            await asyncio.to_thread(self._resources.close)
            self.stopped.set()

    def request_stop(self) -> None:
        """Ask `run()` to finish; safe to call from any thread or a signal handler."""
        if self._loop and self._stop and not self.stopped.is_set():
            self._loop.call_soon_threadsafe(self._stop.set)

    def health(self) -> dict:
        workers = [state.as_dict() for state in list(self._workers.values())]
        standing = [w for w in workers if w["standing"]]
        return {
            # Idle tenants have no worker at all: healthy means every standing worker runs.
            "healthy": self.reconciled.is_set()
            and all(w["running"] for w in standing)
            and not self.last_reconcile_error,
            "pid": os.getpid(),
            "shard": str(self.selection.shard) if self.selection.shard else None,
            "last_reconcile_error": self.last_reconcile_error,
            "threads": threading.active_count(),
            "workers": workers,
        }

    @property
    def hosted(self) -> set[WorkerKey]:
        return {key for key, state in self._workers.items() if state.running}

    # Demand ----------------------------------------------------------------------------------

    def demand(self, namespace: str, task_queue: str) -> None:
        """Work was announced on `task_queue` in `namespace`: host its worker if this host may.
        Call on the manager's loop (`demand_threadsafe` from elsewhere)."""
        key = (namespace, task_queue)
        state = self._workers.get(key)
        if state and state.running:
            state.last_demand_at = time.time()
            if state.stopping:
                self._redemanded.add(key)
            return
        if key in self._changing:
            return
        if key not in self._allowed:
            self._note_unknown(key)
            return
        self._changing[key] = asyncio.create_task(self._start(key), name=f"start {namespace}/{task_queue}")

    def _note_unknown(self, key: WorkerKey) -> None:
        prefix = settings.TEMPORAL_TENANT_NAMESPACE_PREFIX
        tenant_id = key[0].removeprefix(prefix)
        if not (key[0].startswith(prefix) and tenant_id.isdigit()):
            return
        tenant_id = int(tenant_id)
        if tenant_id in self._tenants.refs or not self.selection.wants_tenant(tenant_id):
            return  # another host's tenant, or a queue this selection does not host
        if key not in self._unknown:
            self._unknown[key] = time.monotonic()
            self._wake.set()  # refresh now rather than at the end of the interval

    def _retry_unknown(self) -> None:
        for key, since in list(self._unknown.items()):
            if key in self._allowed:
                del self._unknown[key]
                self.demand(*key)
            elif time.monotonic() - since > settings.TEMPORAL_WORKER_FULL_REFRESH_SECONDS:
                del self._unknown[key]  # never became ours (deleted, inactive): forget it

    def demand_threadsafe(self, namespace: str, task_queue: str) -> None:
        if self._loop:
            self._loop.call_soon_threadsafe(self.demand, namespace, task_queue)

    async def _start(self, key: WorkerKey) -> None:
        try:
            registration, tenant = self._allowed[key]
            if await self._ensure_namespaces({key[0]: tenant}):
                self._start_worker(key, registration, tenant, await connect(key[0]), standing=False)
        except Exception:
            logger.exception("could not start the worker of %s / %s", *key)
        finally:
            self._changing.pop(key, None)

    async def _sweep(self) -> None:
        """Start the on-demand workers of queues that have work waiting: open workflows, or (for
        `workflows`) schedules. Runs whenever the LISTEN connection opens, so at start and after
        an outage: work announced while nobody listened is found. One or two RPCs per idle tenant."""
        by_namespace: dict[str, list[WorkerKey]] = {}
        for key in self._allowed:
            if key not in self._workers and not self._is_standing(key):
                by_namespace.setdefault(key[0], []).append(key)
        gate = asyncio.Semaphore(16)

        async def check(namespace: str, keys: list[WorkerKey]) -> None:
            async with gate:
                client = await connect(namespace)
                running = (await client.count_workflows('ExecutionStatus = "Running"')).count
                for key in keys:
                    if (running and await self._has_open_workflows(key)) or await self._has_schedules(key):
                        self.demand(*key)

        outcomes = await asyncio.gather(*(check(ns, keys) for ns, keys in by_namespace.items()), return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if failed:
            logger.warning("pending-work sweep: %d of %d checks failed: %s", len(failed), len(outcomes), failed[0])

    async def _has_open_workflows(self, key: WorkerKey) -> bool:
        client = await connect(key[0])
        query = f'TaskQueue = "{key[1]}" AND ExecutionStatus = "Running"'
        return (await client.count_workflows(query)).count > 0

    async def _has_schedules(self, key: WorkerKey) -> bool:
        """Whether `key` is a tenant's `workflows` queue whose namespace has schedules (Mono's
        schedules start their runs there, from the server, with nobody announcing them)."""
        registration, tenant = self._allowed[key]
        if tenant is None or registration.queue.key != queues.WORKFLOWS.key:
            return False
        client = await connect(key[0])
        async for _ in await client.list_schedules(page_size=1):
            return True
        return False

    async def _has_work(self, key: WorkerKey) -> bool:
        return await self._has_open_workflows(key) or await self._has_schedules(key)

    def _is_standing(self, key: WorkerKey) -> bool:
        return self.selection.is_standing(self._allowed[key][0])

    # Reconciliation --------------------------------------------------------------------------

    async def _sleep_until_next_round(self) -> None:
        """Wait one refresh interval, or less if a stop or an early refresh is asked for."""
        waits = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=self._refresh_seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            self._wake.clear()

    async def _refresh_tenants(self) -> None:
        full_due = time.monotonic() - self._tenants.full_at >= settings.TEMPORAL_WORKER_FULL_REFRESH_SECONDS
        if self._tenant_changes is None or self._tenants.cursor is None or full_due:
            self._tenants.apply(await asyncio.to_thread(self._tenant_source), full=True)
            self._tenants.full_at = time.monotonic()
        else:
            changed = await asyncio.to_thread(self._tenant_changes, self._tenants.cursor)
            self._tenants.apply(changed, full=False)

    async def _reconcile(self) -> None:
        await self._refresh_tenants()
        self._allowed = desired_workers(self.selection, self._registrations, self._tenants.refs.values())
        await self._stop_workers([key for key in self._workers if key not in self._allowed])
        await self._stop_idle_workers()
        to_start = {
            key: value
            for key, value in self._allowed.items()
            if self._is_standing(key) and not (key in self._workers and self._workers[key].running)
        }
        ready = await self._ensure_namespaces({key[0]: tenant for key, (_, tenant) in to_start.items()})
        for key, (registration, tenant) in to_start.items():
            if key[0] in ready:
                self._start_worker(key, registration, tenant, await connect(key[0]), standing=True)
        for key in [key for key, state in self._workers.items() if not state.running and not state.standing]:
            self._workers.pop(key)  # a crashed on-demand worker starts again on the next demand
            self.demand(*key)
        self._retry_unknown()

    async def _stop_idle_workers(self) -> None:
        """Stop on-demand workers idle for `idle_seconds` whose queue has no open workflow (nor,
        for `workflows`, a schedule)."""
        now = time.time()
        idle = [
            key
            for key, state in self._workers.items()
            if not state.standing and state.running and now - state.last_busy_at >= self._idle_seconds
        ]
        for key in idle:
            try:
                if await self._has_work(key):
                    self._workers[key].last_demand_at = now  # still has work: look again after another idle period
                    continue
            except Exception as exc:
                logger.warning("could not check %s / %s for open workflows: %s", *key, exc)
                continue
            self._workers[key].stopping = True
            await self._stop_workers([key])
            logger.info("stopped idle worker %s / %s", *key)
            if key in self._redemanded:  # work announced while it stopped
                self._redemanded.discard(key)
                self.demand(*key)

    async def _ensure_namespaces(self, wanted: dict[str, TenantRef | None]) -> set[str]:
        """Ensure each namespace not yet ensured by this process, a few at a time; returns those
        ready. One failing namespace is logged and retried next round without holding up the rest."""
        gate = asyncio.Semaphore(8)

        async def ensure(namespace: str, tenant: TenantRef | None) -> None:
            async with gate:
                if tenant is None:
                    await self._namespaces.ensure_platform()
                else:
                    await self._namespaces.ensure_tenant(TenantNamespaceSpec(tenant.id, tenant.retention_days))
            self._provisioned.add(namespace)

        pending = {ns: tenant for ns, tenant in wanted.items() if ns not in self._provisioned}
        outcomes = await asyncio.gather(*(ensure(ns, t) for ns, t in pending.items()), return_exceptions=True)
        for namespace, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                logger.warning("namespace %s not ready, retrying next round: %s", namespace, outcome)
                self.last_reconcile_error = f"{namespace}: {outcome}"
        return {ns for ns in wanted if ns in self._provisioned}

    def _start_worker(
        self,
        key: WorkerKey,
        registration: registry.Registration,
        tenant: TenantRef | None,
        client,
        *,
        standing: bool,
    ) -> None:
        namespace, task_queue = key
        previous = self._workers.get(key)
        state_box: list[WorkerState] = []

        def note_activity() -> None:
            state_box[0].last_activity_at = time.time()

        worker: Worker = build_worker(
            client,
            task_queue=task_queue,
            registration=registration,
            owner=tenant.id if tenant else PLATFORM,
            resources=self._resources,
            shutdown_grace=self._shutdown_grace,
            on_activity=note_activity,
        )
        state = WorkerState(namespace, task_queue, tenant.id if tenant else None, worker, standing=standing)
        if previous:
            state.last_error = previous.last_error
        state_box.append(state)
        state.task = asyncio.create_task(worker.run(), name=f"worker {namespace}/{task_queue}")
        state.task.add_done_callback(lambda task: note_exit(state, task))
        self._workers[key] = state
        logger.info("worker started: %s / %s%s", namespace, task_queue, "" if standing else " (on demand)")

    async def _stop_workers(self, keys: list[WorkerKey]) -> None:
        states = [self._workers[key] for key in keys if key in self._workers]
        running = [state for state in states if state.running]
        await asyncio.gather(*(state.worker.shutdown() for state in running), return_exceptions=True)
        for key in keys:
            self._workers.pop(key, None)
        for state in running:
            logger.info("worker stopped: %s / %s", state.namespace, state.task_queue)


__all__ = [
    "Shard",
    "TemporalWorkerManager",
    "TenantRef",
    "WorkerKey",
    "WorkerSelection",
    "WorkerState",
    "desired_workers",
    "platform_namespace",
    "tenant_namespace",
]
