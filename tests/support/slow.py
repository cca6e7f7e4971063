"""A workflow whose one activity takes a while, to test graceful worker shutdown."""

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

SLOW_SECONDS = 1.5
started = threading.Event()
finished: list[int] = []


@dataclass(frozen=True)
class SlowInput:
    tenant_id: int


@activity.defn(name="slow_step")
def slow_step(data: SlowInput) -> str:
    started.set()
    time.sleep(SLOW_SECONDS)  # stands for real work in flight when SIGTERM arrives
    finished.append(data.tenant_id)
    return "done"


@workflow.defn(name="SlowWorkflow")
class SlowWorkflow:
    @workflow.run
    async def run(self, data: SlowInput) -> str:
        return await workflow.execute_activity(
            "slow_step",
            data,
            result_type=str,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
