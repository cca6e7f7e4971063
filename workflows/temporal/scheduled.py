"""`ScheduledWorkflowRun`: what a workflow definition's Temporal Schedule starts at every fire.

Deterministic: no Django, no I/O. The Temporal type name is part of every existing schedule's
action, so it never changes.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from workflows.temporal.types import ScheduledRunInput, ScheduledRunResult, ScheduledRunStart

START_RETRY = RetryPolicy(maximum_attempts=10, non_retryable_error_types=["ScheduleTargetGone"])
# Set by Temporal on every workflow a Schedule starts: the time the fire was due.
SCHEDULED_START_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn(name="ScheduledWorkflowRun")
class ScheduledWorkflowRun:
    """Records and starts one run of the definition for one fire.

    The run goes through `execution_start` like any other, so it has its `WorkflowExecution`
    row, audit entry and interpreter workflow; the fire's scheduled time is its business key.
    """

    @workflow.run
    async def run(self, data: ScheduledRunInput) -> ScheduledRunResult:
        info = workflow.info()
        scheduled_at = info.typed_search_attributes.get(SCHEDULED_START_TIME) or info.start_time
        return await workflow.execute_activity(
            "scheduled_run_start",
            ScheduledRunStart(data.tenant_id, data.definition_id, data.schedule_id, scheduled_at.isoformat()),
            result_type=ScheduledRunResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=START_RETRY,
        )
