"""Telling the worker host that a task queue has work, through PostgreSQL LISTEN/NOTIFY.

Most tenants are idle most of the time; the worker host keeps no poller on a tenant queue that has
no work (see `TEMPORAL_WORKER_STANDING_QUEUES`). When a workflow (or a schedule) is started on one,
`DemandInterceptor` (installed on every client by `mono.temporal.client.connect`) sends a NOTIFY
on `CHANNEL` naming the namespace and task queue; every `runworkers` process LISTENs and starts
that worker if it hosts the tenant. The task waits in Temporal's queue until a poller comes, so a
lost notification delays work, never loses it: the host also looks for open workflows on those
queues (and schedules) whenever its LISTEN connection (re)connects, and before it stops an idle worker.

Services that start work without a Temporal client (or want to be explicit) call `notify()`.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg
from django.conf import settings
from django.db import connection
from psycopg.conninfo import make_conninfo
from temporalio import client as temporal_client

from mono.kernel.ttl import TTLCache

logger = logging.getLogger(__name__)

CHANNEL = "mono_worker_demand"


def conninfo() -> str:
    """The default database's connection string, read when called (tests rename the database)."""
    db = settings.DATABASES["default"]
    params = {
        "dbname": db.get("NAME"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
        "host": db.get("HOST"),
        "port": str(db["PORT"]) if db.get("PORT") else None,
    }
    return make_conninfo(**{key: value for key, value in params.items() if value})


def payload(namespace: str, task_queue: str) -> str:
    return f"{namespace}\n{task_queue}"


def parse(text: str) -> tuple[str, str]:
    namespace, _, task_queue = text.partition("\n")
    return namespace, task_queue


def is_standing(task_queue: str) -> bool:
    """Whether hosts poll `task_queue` at all times (then nobody needs to be told)."""
    from mono.temporal.queues import QUEUES_BY_KEY

    standing = settings.TEMPORAL_WORKER_STANDING_QUEUES
    return any(key in QUEUES_BY_KEY and QUEUES_BY_KEY[key].template == task_queue for key in standing)


def notify(*, namespace: str, task_queue: str) -> None:
    """Tell worker hosts that `task_queue` in `namespace` has work (sync; on the caller's DB
    connection, so inside a transaction it is sent on commit, together with the rows it is about)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload(namespace, task_queue)])


async def notify_async(*, namespace: str, task_queue: str) -> None:
    """`notify()` for async code. It opens a short connection of its own (a few ms, paid once per
    job start) rather than keep one per event loop open for the life of the process. Never raises:
    a start must not fail because the hint could not be sent (the host finds the work anyway)."""
    try:
        async with await psycopg.AsyncConnection.connect(conninfo(), autocommit=True, connect_timeout=5) as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload(namespace, task_queue)])
    except Exception as exc:
        logger.warning("could not notify worker hosts of work on %s/%s: %s", namespace, task_queue, exc)


# Queues this process announced in the last second. A host keeps a worker while its queue has
# open workflows and for its idle time after, so announcing the same queue again within a second
# changes nothing; skipping it keeps a burst of starts (a webhook storm) from paying a connection
# and a NOTIFY each. A second, not the hosts' idle time: hosts may be configured apart from clients.
_recently_announced: TTLCache[bool] = TTLCache(lambda: 1.0)


class DemandInterceptor(temporal_client.Interceptor):
    """After a workflow starts on a queue without a standing poller, notify the worker hosts.

    Bound to one namespace: `for_namespace()` swaps it when a client is derived for another."""

    def __init__(self, namespace: str):
        self.namespace = namespace

    def intercept_client(self, next: temporal_client.OutboundInterceptor) -> temporal_client.OutboundInterceptor:
        return _NotifyingOutbound(next, self.namespace)


def for_namespace(interceptors, namespace: str) -> list:
    """`interceptors` with its `DemandInterceptor` (if any) bound to `namespace` instead."""
    return [DemandInterceptor(namespace) if isinstance(i, DemandInterceptor) else i for i in interceptors]


class _NotifyingOutbound(temporal_client.OutboundInterceptor):
    def __init__(self, next: temporal_client.OutboundInterceptor, namespace: str):
        super().__init__(next)
        self._namespace = namespace

    async def start_workflow(self, input: temporal_client.StartWorkflowInput) -> temporal_client.WorkflowHandle:
        handle = await super().start_workflow(input)
        queue = (self._namespace, input.task_queue)
        if not is_standing(input.task_queue) and _recently_announced.get(queue) is None:
            await notify_async(namespace=self._namespace, task_queue=input.task_queue)
            _recently_announced.put(queue, True)
        return handle

    async def create_schedule(self, input: temporal_client.CreateScheduleInput) -> temporal_client.ScheduleHandle:
        # A schedule starts its runs from the server, unannounced: its queue's worker must stay up,
        # and the host keeps it while the namespace has schedules once it knows of the queue.
        handle = await super().create_schedule(input)
        task_queue = getattr(input.schedule.action, "task_queue", None)
        if task_queue and not is_standing(task_queue):
            await notify_async(namespace=self._namespace, task_queue=task_queue)
        return handle


async def listen(
    on_demand: Callable[[str, str], None],
    on_connected: Callable[[], Awaitable[None]],
    *,
    retry_seconds: float = 2.0,
) -> None:
    """LISTEN for demand until cancelled, calling `on_demand(namespace, task_queue)` for each
    notification. After every (re)connect `on_connected()` runs, to catch up on anything sent
    while nobody listened. A lost connection is reopened after `retry_seconds`."""
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo(), autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                await on_connected()
                async for notification in conn.notifies():
                    on_demand(*parse(notification.payload))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("worker demand listener: %s; reconnecting in %.0f s", exc, retry_seconds)
        await asyncio.sleep(retry_seconds)
