"""The interpreter's activities: sync functions on the worker's thread pool. Each takes one
dataclass carrying `tenant_id`, calls one service, and returns a small dataclass or nothing.

Bookkeeping the interpreter defers (control-node records, the move to running) rides along the
next work step (`StepInput.records`, `run_id`), `execution_finish`, or `record_steps`, a local
activity: see the interpreter's module docstring.
"""

import contextvars
import threading
from contextlib import contextmanager
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.services import approvals, executions, payloads, schedules, steps
from workflows.temporal.types import (
    ApprovalClose,
    ApprovalOpen,
    ApprovalOpened,
    ApprovalVoteRecord,
    ExecutionFinish,
    ExecutionStarted,
    ScheduledRunResult,
    ScheduledRunStart,
    StepInput,
    StepOutput,
    StepRecord,
    StepRecords,
)

HEARTBEAT_EVERY_SECONDS = 1.0


def _record_kwargs(record: StepRecord) -> dict:
    return {
        "node_id": record.node_id,
        "node_type": record.node_type,
        "status": record.status,
        "output": record.output,
        "error": record.error,
        "at": datetime.fromisoformat(record.at) if record.at else None,
    }


@contextmanager
def _heartbeating():
    """Heartbeat from a side thread while the step blocks (an HTTP call, an LLM answer), so a
    killed worker's step is retried after the step's short heartbeat_timeout, not its full
    start_to_close_timeout. Steps that finish within a second never start the thread's loop."""
    done = threading.Event()
    context = contextvars.copy_context()  # activity.heartbeat finds its activity through it

    def beat():
        while not done.wait(HEARTBEAT_EVERY_SECONDS):
            activity.heartbeat()

    thread = threading.Thread(target=context.run, args=(beat,), daemon=True, name="step-heartbeat")
    thread.start()
    try:
        yield
    finally:
        done.set()


@activity.defn(name="execution_started")
def execution_started(data: ExecutionStarted) -> None:
    executions.execution_mark_running(tenant_id=data.tenant_id, execution_id=data.execution_id, run_id=data.run_id)


@activity.defn(name="execution_finish")
def execution_finish(data: ExecutionFinish) -> None:
    executions.execution_finish(
        tenant_id=data.tenant_id,
        execution_id=data.execution_id,
        status=data.status,
        output=data.output,
        error=data.error,
        skipped_nodes=data.skipped_nodes,
        run_id=data.run_id,
        records=[_record_kwargs(record) for record in data.records],
    )


@activity.defn(name="record_steps")
def record_steps(data: StepRecords) -> None:
    """Write deferred bookkeeping that cannot wait for the next work step (local activity)."""
    executions.execution_bookkeeping(
        tenant_id=data.tenant_id,
        execution_id=data.execution_id,
        run_id=data.run_id,
        records=[_record_kwargs(record) for record in data.records],
    )


@activity.defn(name="record_step")
def record_step(data: StepRecord) -> None:
    steps.step_record(
        tenant_id=data.tenant_id,
        execution_id=data.execution_id,
        node_id=data.node_id,
        node_type=data.node_type,
        status=data.status,
        output=data.output,
        error=data.error,
    )


@activity.defn(name="run_step")
def run_step(data: StepInput) -> StepOutput:
    if data.run_id or data.records:
        executions.execution_bookkeeping(
            tenant_id=data.tenant_id,
            execution_id=data.execution_id,
            run_id=data.run_id,
            records=[_record_kwargs(record) for record in data.records],
        )
    try:
        with _heartbeating():
            output = steps.step_run(
                tenant_id=data.tenant_id,
                execution_id=data.execution_id,
                node_id=data.node_id,
                node_type=data.node_type,
                data=data.data,
                variables=data.variables,
                attempt=activity.info().attempt,
            )
    except steps.StepError as exc:
        raise ApplicationError(str(exc), type="StepError", non_retryable=True) from exc
    # The full output is in the step's row; what travels back is kept under the payload limit.
    return StepOutput(output=payloads.output_for_payload(node_id=data.node_id, output=output))


@activity.defn(name="approval_open")
def approval_open(data: ApprovalOpen) -> ApprovalOpened:
    approval = approvals.approval_open(
        tenant_id=data.tenant_id,
        execution_id=data.execution_id,
        node_id=data.node_id,
        approvers=data.approvers,
        quorum=data.quorum,
        on_timeout=data.on_timeout,
        timeout_seconds=data.timeout_seconds,
        message=data.message,
        allow_starter=data.allow_starter,
    )
    return ApprovalOpened(approval_id=approval.pk, eligible_usernames=list(approval.eligible_usernames))


@activity.defn(name="approval_record_vote")
def approval_record_vote(data: ApprovalVoteRecord) -> None:
    approvals.approval_record_vote(
        tenant_id=data.tenant_id,
        approval_id=data.approval_id,
        username=data.username,
        decision=data.decision,
        comment=data.comment,
    )


@activity.defn(name="approval_close")
def approval_close(data: ApprovalClose) -> None:
    approvals.approval_close(
        tenant_id=data.tenant_id, approval_id=data.approval_id, status=data.status, timed_out=data.timed_out
    )


@activity.defn(name="scheduled_run_start")
def scheduled_run_start(data: ScheduledRunStart) -> ScheduledRunResult:
    """Record and start the run one schedule fire asks for (once per scheduled time)."""
    try:
        execution, created = schedules.scheduled_execution_start(
            tenant_id=data.tenant_id,
            definition_id=data.definition_id,
            schedule_id=data.schedule_id,
            scheduled_at=data.scheduled_at,
        )
    except schedules.ScheduleTargetGone as exc:
        raise ApplicationError(str(exc), type="ScheduleTargetGone", non_retryable=True) from exc
    return ScheduledRunResult(execution_id=execution.pk, created=created)


ALL = [
    execution_started,
    execution_finish,
    record_step,
    record_steps,
    run_step,
    approval_open,
    approval_record_vote,
    approval_close,
]
SCHEDULED = [scheduled_run_start]
