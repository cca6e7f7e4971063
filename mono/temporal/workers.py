"""The worker host behind `manage.py runworkers`.

`TemporalWorkerManager` keeps one Temporal `Worker` per (namespace, task queue) that the
selection asks for: the platform queues in the platform namespace, and every registered tenant
queue in each selected tenant's namespace. It reconciles that set against the database every
`TEMPORAL_WORKER_REFRESH_SECONDS`, so tenants created, deactivated or re-sharded while it runs
are picked up without a restart, and a worker that crashed is started again. Sync activities of
every worker share one thread pool; `request_stop()` shuts all workers down gracefully.

The manager does not know about tenants' models: it is handed a `tenant_source` callable that
returns `TenantRef`s (the tenants app provides it).
"""

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from temporalio.client import Client
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker

from mono.temporal import registry
from mono.temporal.client import connect, platform_namespace, tenant_namespace
from mono.temporal.interceptors import (
    DjangoConnectionInterceptor,
    NamespaceTenantInterceptor,
    with_fresh_connections,
)
from mono.temporal.namespaces import TemporalNamespaceManager, TenantNamespaceSpec
from mono.temporal.queues import Scope

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantRef:
    """What the worker host needs to know about a tenant."""

    id: int
    retention_days: int = 90


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

    def wants_tenant(self, tenant_id: int) -> bool:
        return (
            self.tenants
            and (self.shard is None or self.shard.owns(tenant_id))
            and self.wants_namespace(tenant_namespace(tenant_id))
        )


@dataclass
class WorkerState:
    """One hosted worker, as the health report shows it."""

    namespace: str
    task_queue: str
    tenant_id: int | None
    worker: Worker = field(repr=False)
    task: asyncio.Task | None = field(default=None, repr=False)
    started_at: float = field(default_factory=time.time)
    last_activity_at: float | None = None
    last_error: str | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def as_dict(self) -> dict:
        return {
            "namespace": self.namespace,
            "task_queue": self.task_queue,
            "tenant_id": self.tenant_id,
            "running": self.running,
            "started_at": _iso(self.started_at),
            "last_activity_at": _iso(self.last_activity_at),
            "last_error": self.last_error,
        }


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


WorkerKey = tuple[str, str]  # (namespace, task queue)


def desired_workers(
    selection: WorkerSelection,
    registrations: list[registry.Registration],
    tenants: Iterable[TenantRef],
) -> dict[WorkerKey, tuple[registry.Registration, TenantRef | None]]:
    """Every (namespace, task queue) the selection should host, with what runs there."""

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
        if selection.wants_tenant(tenant.id):
            for registration in selected(Scope.TENANT):
                desired[(tenant_namespace(tenant.id), registration.queue.name(tenant.id))] = (registration, tenant)
    return desired


class TemporalWorkerManager:
    """Hosts and reconciles the Temporal workers of one `runworkers` process."""

    def __init__(
        self,
        *,
        tenant_source: Callable[[], Iterable[TenantRef]],
        selection: WorkerSelection = WorkerSelection(),
        registrations: list[registry.Registration] | None = None,
        refresh_seconds: float | None = None,
        activity_threads: int | None = None,
        shutdown_seconds: float | None = None,
    ):
        self.selection = selection
        self._tenant_source = with_fresh_connections(lambda: list(tenant_source()))
        self._registrations = registrations if registrations is not None else registry.registrations()
        self._refresh_seconds = refresh_seconds or settings.TEMPORAL_WORKER_REFRESH_SECONDS
        self._activity_threads = activity_threads or settings.TEMPORAL_WORKER_ACTIVITY_THREADS
        self._shutdown_grace = timedelta(
            seconds=settings.TEMPORAL_WORKER_SHUTDOWN_SECONDS if shutdown_seconds is None else shutdown_seconds
        )
        self._workers: dict[WorkerKey, WorkerState] = {}
        self._provisioned: set[str] = set()
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
        client = await connect()
        namespaces = TemporalNamespaceManager(client)
        executor = ThreadPoolExecutor(max_workers=self._activity_threads, thread_name_prefix="activity")
        try:
            while not self._stop.is_set():
                try:
                    self.last_reconcile_error = None
                    await self._reconcile(namespaces, executor)
                except Exception as exc:  # keep hosting what runs; try again next round
                    logger.exception("worker reconcile failed")
                    self.last_reconcile_error = str(exc)
                self.reconciled.set()
                await self._sleep_until_next_round()
        finally:
            await self._stop_workers(list(self._workers))
            executor.shutdown(wait=True)
            self.stopped.set()

    def request_stop(self) -> None:
        """Ask `run()` to finish; safe to call from any thread or a signal handler."""
        if self._loop and self._stop and not self.stopped.is_set():
            self._loop.call_soon_threadsafe(self._stop.set)

    def health(self) -> dict:
        workers = [state.as_dict() for state in list(self._workers.values())]
        return {
            "healthy": bool(workers) and all(w["running"] for w in workers) and not self.last_reconcile_error,
            "pid": os.getpid(),
            "shard": str(self.selection.shard) if self.selection.shard else None,
            "last_reconcile_error": self.last_reconcile_error,
            "workers": workers,
        }

    @property
    def hosted(self) -> set[WorkerKey]:
        return {key for key, state in self._workers.items() if state.running}

    # Reconciliation --------------------------------------------------------------------------

    async def _sleep_until_next_round(self) -> None:
        """Wait one refresh interval, or less if a stop is requested meanwhile."""
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=self._refresh_seconds)
        except TimeoutError:
            pass

    async def _reconcile(self, namespaces: TemporalNamespaceManager, executor: ThreadPoolExecutor) -> None:
        tenants = await asyncio.to_thread(self._tenant_source)
        desired = desired_workers(self.selection, self._registrations, tenants)
        await self._stop_workers([key for key in self._workers if key not in desired])
        to_start = {
            key: value for key, value in desired.items() if not (key in self._workers and self._workers[key].running)
        }
        ready = await self._ensure_namespaces(namespaces, {key[0]: tenant for key, (_, tenant) in to_start.items()})
        for key, (registration, tenant) in to_start.items():
            if key[0] in ready:
                client = await connect(key[0])
                self._start_worker(key, registration, tenant, client, executor, self._workers.get(key))

    async def _ensure_namespaces(
        self, namespaces: TemporalNamespaceManager, wanted: dict[str, TenantRef | None]
    ) -> set[str]:
        """Ensure each namespace not yet ensured by this process, a few at a time; returns those
        ready. One failing namespace is logged and retried next round without holding up the rest."""
        gate = asyncio.Semaphore(8)

        async def ensure(namespace: str, tenant: TenantRef | None) -> None:
            async with gate:
                if tenant is None:
                    await namespaces.ensure_platform()
                else:
                    await namespaces.ensure_tenant(TenantNamespaceSpec(tenant.id, tenant.retention_days))
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
        client: Client,
        executor: ThreadPoolExecutor,
        previous: WorkerState | None,
    ) -> None:
        namespace, task_queue = key
        state_box: list[WorkerState] = []

        def note_activity() -> None:
            state_box[0].last_activity_at = time.time()

        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=list(registration.workflows),
            activities=list(registration.activities),
            activity_executor=executor,
            max_concurrent_activities=self._activity_threads,
            max_task_queue_activities_per_second=(
                registration.activities_per_second() if registration.activities_per_second else None
            ),
            # The tenant check is outermost: a refused input never reaches the database.
            interceptors=[NamespaceTenantInterceptor(), DjangoConnectionInterceptor(on_activity=note_activity)],
            graceful_shutdown_timeout=self._shutdown_grace,
            identity=f"{socket.gethostname()}:{os.getpid()}:{task_queue}",
            workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.TEMPORAL_WORKER_WORKFLOW_POLLERS),
            activity_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.TEMPORAL_WORKER_ACTIVITY_POLLERS),
        )
        state = WorkerState(namespace, task_queue, tenant.id if tenant else None, worker)
        if previous:
            state.last_error = previous.last_error
        state_box.append(state)
        state.task = asyncio.create_task(worker.run(), name=f"worker {namespace}/{task_queue}")
        state.task.add_done_callback(lambda task: _note_exit(state, task))
        self._workers[key] = state
        logger.info("worker started: %s / %s", namespace, task_queue)

    async def _stop_workers(self, keys: list[WorkerKey]) -> None:
        states = [self._workers[key] for key in keys if key in self._workers]
        running = [state for state in states if state.running]
        await asyncio.gather(*(state.worker.shutdown() for state in running), return_exceptions=True)
        for key in keys:
            self._workers.pop(key, None)
        for state in running:
            logger.info("worker stopped: %s / %s", state.namespace, state.task_queue)


def _note_exit(state: WorkerState, task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        state.last_error = repr(task.exception())
        logger.error(
            "worker %s / %s crashed: %s",
            state.namespace,
            state.task_queue,
            state.last_error,
        )
