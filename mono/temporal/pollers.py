"""Temporal's own view of who polls a task queue, for health reports."""

import asyncio

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.service import RPCError

from mono.temporal.client import connect

_TYPES = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}


async def describe_pollers(keys: list[tuple[str, str]], *, concurrency: int = 16) -> list[dict]:
    """For each (namespace, task queue): the pollers Temporal saw, newest poll first."""
    base = await connect()
    gate = asyncio.Semaphore(concurrency)

    async def one(namespace: str, task_queue: str) -> dict:
        async with gate:
            pollers: dict[str, dict] = {}
            error = None
            for kind, queue_type in _TYPES.items():
                try:
                    response = await base.workflow_service.describe_task_queue(
                        DescribeTaskQueueRequest(
                            namespace=namespace,
                            task_queue=TaskQueue(
                                name=task_queue,
                                kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
                            ),
                            task_queue_type=queue_type,
                        )
                    )
                except RPCError as exc:
                    error = exc.message
                    continue
                for poller in response.pollers:
                    entry = pollers.setdefault(
                        poller.identity,
                        {"identity": poller.identity, "last_poll": None, "kinds": []},
                    )
                    entry["kinds"].append(kind)
                    seen = poller.last_access_time.ToDatetime().isoformat() + "Z"
                    entry["last_poll"] = max(filter(None, [entry["last_poll"], seen]))
            ordered = sorted(pollers.values(), key=lambda p: p["last_poll"] or "", reverse=True)
            return {
                "namespace": namespace,
                "task_queue": task_queue,
                "pollers": ordered,
                "error": error,
            }

    return list(await asyncio.gather(*(one(ns, queue) for ns, queue in keys)))
