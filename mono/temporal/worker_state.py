"""One hosted worker's state, as the worker host tracks it and its health report shows it."""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.worker import Worker

logger = logging.getLogger(__name__)


@dataclass
class WorkerState:
    namespace: str
    task_queue: str
    tenant_id: int | None
    worker: Worker = field(repr=False)
    standing: bool = True  # polled at all times; False: started on demand, stopped when idle
    task: asyncio.Task | None = field(default=None, repr=False)
    started_at: float = field(default_factory=time.time)
    last_activity_at: float | None = None
    last_demand_at: float | None = None
    last_error: str | None = None
    stopping: bool = False

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def last_busy_at(self) -> float:
        """When it last started, ran an activity or was told of work."""
        return max(self.started_at, self.last_activity_at or 0.0, self.last_demand_at or 0.0)

    def as_dict(self) -> dict:
        return {
            "namespace": self.namespace,
            "task_queue": self.task_queue,
            "tenant_id": self.tenant_id,
            "standing": self.standing,
            "running": self.running,
            "started_at": _iso(self.started_at),
            "last_activity_at": _iso(self.last_activity_at),
            "last_error": self.last_error,
        }


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def note_exit(state: WorkerState, task: asyncio.Task) -> None:
    """Done-callback of a worker's task: record and log a crash."""
    if not task.cancelled() and task.exception() is not None:
        state.last_error = repr(task.exception())
        logger.error("worker %s / %s crashed: %s", state.namespace, state.task_queue, state.last_error)
