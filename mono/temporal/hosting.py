"""How the worker host builds each Temporal `Worker`: the one place its options are chosen.

A host runs a worker per (namespace, task queue), so anything a worker owns is multiplied by the
number of tenants. Nothing here is per worker that could be shared:

- threads: sync activities run on the host's `FairExecutor`, workflow tasks on one shared pool;
- slots: a tenant's workers share one `TenantSlots` (a configured share of the activity threads);
- pollers: autoscaled between 1 and `TEMPORAL_WORKER_MAX_POLLERS`, so an idle queue holds one
  long poll per task type, and a busy one opens more;
- the sticky workflow cache is small per worker (`TEMPORAL_WORKER_CACHED_WORKFLOWS`).

The data converter comes with the client (`mono.temporal.client.connect`); worker interceptors
come from `worker_interceptors()`. Add new ones there, not at the call site.
"""

import math
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from temporalio.client import Client
from temporalio.worker import (
    FixedSizeSlotSupplier,
    Interceptor,
    PollerBehaviorAutoscaling,
    Worker,
    WorkerTuner,
)

from mono.temporal import registry
from mono.temporal.fairness import FairExecutor, TenantSlots
from mono.temporal.interceptors import DjangoConnectionInterceptor, NamespaceTenantInterceptor

PLATFORM = "platform"  # the slot and executor key of the platform namespace's workers
WORKFLOW_SLOTS = 2
LOCAL_ACTIVITY_SLOTS = 8
STICKY_TIMEOUT = timedelta(seconds=3)


def worker_interceptors(*, on_activity: Callable[[], None] | None = None) -> list[Interceptor]:
    """The interceptors of every hosted worker, outermost first: the tenant check comes first, so
    an input that names another tenant never reaches the database."""
    return [NamespaceTenantInterceptor(), DjangoConnectionInterceptor(on_activity=on_activity)]


def tenant_activity_slots(threads: int, share: float) -> int:
    """Slots one tenant may hold: `share` of the host's activity threads, at least 1."""
    return max(1, min(threads, math.floor(threads * share)))


@dataclass
class HostResources:
    """What every worker of one host shares; `close()` once every worker has stopped."""

    activity_threads: int
    workflow_threads: int
    tenant_share: float
    # Each of a tenant's workers holds a slot while it polls: never fewer slots than its queues + 1.
    min_tenant_slots: int = 1
    activities: FairExecutor = field(init=False)
    workflow_tasks: FairExecutor = field(init=False)
    _slots: dict = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.activities = FairExecutor(self.activity_threads, name="activity")
        self.workflow_tasks = FairExecutor(self.workflow_threads, name="workflow")

    def slots(self, owner) -> TenantSlots:
        """The activity slots of `owner` (a tenant id, or `PLATFORM`), shared by its workers."""
        if owner not in self._slots:
            limit = (
                self.activity_threads
                if owner == PLATFORM
                else max(self.min_tenant_slots, tenant_activity_slots(self.activity_threads, self.tenant_share))
            )
            self._slots[owner] = TenantSlots(limit)
        return self._slots[owner]

    def close(self) -> None:
        self.activities.shutdown(wait=True)
        self.workflow_tasks.shutdown(wait=True)


def build_worker(
    client: Client,
    *,
    task_queue: str,
    registration: registry.Registration,
    owner,
    resources: HostResources,
    shutdown_grace: timedelta,
    on_activity: Callable[[], None] | None = None,
) -> Worker:
    """A worker for `task_queue` in `client`'s namespace, sharing `resources` as `owner`."""
    max_pollers = max(1, settings.TEMPORAL_WORKER_MAX_POLLERS)
    cache = settings.TEMPORAL_WORKER_CACHED_WORKFLOWS
    # With a sticky cache the SDK needs two workflow polls (normal and sticky queue) at least.
    workflow_polls = PollerBehaviorAutoscaling(
        minimum=2 if cache else 1, maximum=max(max_pollers, 2 if cache else 1), initial=2 if cache else 1
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(registration.workflows),
        activities=list(registration.activities),
        activity_executor=resources.activities.for_tenant(owner),
        workflow_task_executor=resources.workflow_tasks.for_tenant(owner),
        tuner=WorkerTuner.create_composite(
            # Two workflow tasks per worker (its normal and sticky poll each hold one): one tenant's
            # burst cannot crowd the shared workflow threads, whose waiting tasks go round robin.
            workflow_supplier=FixedSizeSlotSupplier(WORKFLOW_SLOTS),
            activity_supplier=resources.slots(owner),
            # Local activities are the interpreter's bookkeeping writes (records, finish, approvals):
            # short, and on the same fair executor as the tenant's activities.
            local_activity_supplier=FixedSizeSlotSupplier(LOCAL_ACTIVITY_SLOTS),
            nexus_supplier=FixedSizeSlotSupplier(1),
        ),
        max_cached_workflows=cache,
        # A killed host's runs wait this long on its sticky queue before any host takes them (the
        # SDK's default, 10 s, is most of a crash's recovery time).
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
        max_task_queue_activities_per_second=(
            registration.activities_per_second() if registration.activities_per_second else None
        ),
        interceptors=worker_interceptors(on_activity=on_activity),
        graceful_shutdown_timeout=shutdown_grace,
        identity=f"{socket.gethostname()}:{os.getpid()}:{task_queue}",
        workflow_task_poller_behavior=workflow_polls,
        activity_task_poller_behavior=PollerBehaviorAutoscaling(minimum=1, maximum=max_pollers, initial=1),
    )
