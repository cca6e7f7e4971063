"""Starting, cancelling and recording workflow executions."""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from audit.models import AuditAction
from audit.services import audit_record
from mono import starts
from mono.errors import Conflict, ServiceError
from mono.events import DomainEvent, emit
from mono.temporal import queues, search_attributes, sync
from mono.temporal.client import get_tenant_client
from workflows.models import (
    DefinitionStatus,
    ExecutionStatus,
    StepExecution,
    StepStatus,
    WorkflowDefinition,
    WorkflowExecution,
)
from workflows.services.approvals import approvals_close_pending
from workflows.services.limits import execution_start_check
from workflows.services.steps import step_record
from workflows.temporal.types import InterpreterInput
from workflows.temporal.workflows import InterpreterWorkflow

START_KIND = "runs"


@transaction.atomic
def execution_start(
    *,
    tenant,
    definition: WorkflowDefinition,
    input: dict[str, Any],
    actor=None,
    execution_id: str | None = None,
    start: bool = True,
) -> WorkflowExecution:
    """Record a pending run of the definition's newest version; its workflow starts after commit.

    The row records that its start is owed; the start goes through `mono.starts` (kind
    `START_KIND`): tried after commit, retried by the relay while Temporal is away, and given up
    (the run `failed` with the reason) after the last attempt. `execution_id` (also the Temporal
    workflow id) may come from a business key, such as an inbound webhook event or a schedule
    fire, so that a duplicate start is refused by Temporal. With `start=False` nothing is owed:
    the caller owns the start and calls `execution_launch` itself.
    """
    execution_start_check(tenant=tenant)  # per-tenant concurrent runs: 429 beyond the limit
    if definition.status == DefinitionStatus.ARCHIVED:
        raise Conflict({"definition": "An archived workflow cannot be executed."})
    if not isinstance(input, dict):
        raise ServiceError({"input": "Input must be a JSON object."})
    version = definition.latest_version
    named = {"id": execution_id} if execution_id else {}
    execution = WorkflowExecution.objects.create(
        tenant=tenant,
        definition=definition,
        version=version,
        input=input,
        started_by=actor,
        next_attempt_at=starts.owed_from() if start else None,
        **named,
    )
    audit_record(
        tenant=tenant,
        action=AuditAction.EXECUTION_STARTED,
        target=execution,
        actor=actor,
        data={"workflow": definition.slug, "version": version.number},
    )
    if start:
        starts.start_after_commit(kind=START_KIND, pk=execution.pk, row=execution)
    return execution


def execution_give_up(execution: WorkflowExecution) -> None:
    """A run whose start was given up (`mono.starts`) fails with the reason in its `error`."""
    execution_finish(
        tenant_id=execution.tenant_id,
        execution_id=execution.pk,
        status=ExecutionStatus.FAILED,
        error=execution.error,
    )


def execution_launch(*, execution: WorkflowExecution) -> None:
    """Start the run's workflow now and keep its Temporal run id, or raise why Temporal could not.

    A workflow already started under the run's id counts as started, so a caller may retry
    after an error without ever starting a second workflow.
    """
    if kept := execution_workflow_start(execution=execution):
        WorkflowExecution.objects.for_tenant(execution.tenant_id).filter(pk=execution.pk, run_id="").update(**kept)


def execution_workflow_start(*, execution: WorkflowExecution) -> dict[str, Any] | None:
    """Start the run's workflow; the fields to keep on the row (its run id), None if it had started.

    `mono.starts` stores them with the row's "started" mark, in one UPDATE.
    """
    attributes = TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.TENANT_ID, str(execution.tenant_id)),
            SearchAttributePair(search_attributes.WORKFLOW_ID, str(execution.definition_id)),
            SearchAttributePair(search_attributes.WORKFLOW_VERSION, execution.version.number),
        ]
    )
    handle = starts.start_workflow(
        tenant_id=execution.tenant_id,
        workflow=InterpreterWorkflow.run,
        arg=InterpreterInput(
            execution.tenant_id, execution.id, execution.version.plan, execution.input, step_limits=step_limits()
        ),
        id=execution.id,
        task_queue=queues.WORKFLOWS.name(execution.tenant_id),
        search_attributes=attributes,
        # Even once the first run has closed, its id is never started again.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    return {"run_id": handle.first_execution_run_id or ""} if handle is not None else None


def step_limits() -> dict[str, float]:
    """Per work-node type, the time limit its own work observes; the interpreter sizes each
    step's start_to_close_timeout from it (plus a margin)."""
    return {
        "WebhookNode": settings.WEBHOOK_TIMEOUT_SECONDS,
        "LLMNode": settings.LLM_TIMEOUT_SECONDS,
        "EmailNode": settings.EMAIL_TIMEOUT,
    }


def execution_cancel(*, execution: WorkflowExecution, actor=None) -> WorkflowExecution:
    """Ask Temporal to cancel the run; the workflow records `cancelled` when it stops."""
    if execution.is_finished:
        raise Conflict(f"The execution is already {execution.status}.")

    async def cancel():
        client = await get_tenant_client(execution.tenant_id)
        await client.get_workflow_handle(execution.id).cancel()

    sync.run(cancel)
    audit_record(
        tenant=execution.tenant_id,
        action=AuditAction.EXECUTION_CANCELLED,
        target=execution,
        actor=actor,
        data={"status": execution.status},
    )
    return execution


# Called by the interpreter's activities ----------------------------------------------------------


def _execution(tenant_id: int, execution_id: str):
    return WorkflowExecution.objects.for_tenant(tenant_id).filter(pk=execution_id)


def execution_mark_running(*, tenant_id: int, execution_id: str, run_id: str, at=None) -> None:
    """Move a pending run to running (`at`: when its workflow started, if known)."""
    moved = (
        _execution(tenant_id, execution_id)
        .filter(status=ExecutionStatus.PENDING)
        .update(status=ExecutionStatus.RUNNING, run_id=run_id, started_at=at or timezone.now())
    )
    if moved:  # a retried activity announces nothing twice
        emit(DomainEvent("execution.started", tenant_id, execution_id, _labels(tenant_id, execution_id)))


@transaction.atomic
def execution_bookkeeping(*, tenant_id: int, execution_id: str, run_id: str = "", records: list[dict] = ()) -> None:
    """Write what the interpreter deferred, in one transaction: the run's move to running (when
    `run_id` is given) and control-node step records (`step_record` keyword dicts). Idempotent."""
    if run_id:
        at = records[0].get("at") if records else None
        execution_mark_running(tenant_id=tenant_id, execution_id=execution_id, run_id=run_id, at=at)
    for record in records:
        step_record(tenant_id=tenant_id, execution_id=execution_id, **record)


@transaction.atomic
def execution_finish(
    *,
    tenant_id: int,
    execution_id: str,
    status: str,
    output: Any = None,
    error: str = "",
    skipped_nodes: list[str] = (),
    run_id: str = "",
    records: list[dict] = (),
) -> None:
    """Store the run's outcome and the nodes its taken paths never reached (idempotent), after
    any bookkeeping the interpreter deferred to this point (`execution_bookkeeping`)."""
    execution_bookkeeping(tenant_id=tenant_id, execution_id=execution_id, run_id=run_id, records=records)
    execution = _execution(tenant_id, execution_id).select_for_update().select_related("definition").first()
    if execution is None or execution.is_finished:
        return
    plan_nodes = execution.version.plan.get("nodes", {})
    StepExecution.objects.bulk_create(
        [
            StepExecution(
                tenant_id=tenant_id,
                execution=execution,
                node_id=node_id,
                node_type=plan_nodes.get(node_id, {}).get("type", ""),
                status=StepStatus.SKIPPED,
            )
            for node_id in skipped_nodes
        ],
        ignore_conflicts=True,
    )
    execution.status = status
    execution.output = output
    execution.error = error
    execution.finished_at = timezone.now()
    execution.save(update_fields=["status", "output", "error", "finished_at"])
    # An approval opened while the run was being cancelled is closed with it.
    approvals_close_pending(tenant_id=tenant_id, execution_id=execution_id)
    for node_id in skipped_nodes:
        node_type = plan_nodes.get(node_id, {}).get("type", "")
        emit(DomainEvent("step.skipped", tenant_id, execution_id, {"node_id": node_id, "node_type": node_type}))
    seconds = (execution.finished_at - (execution.started_at or execution.created_at)).total_seconds()
    emit(
        DomainEvent(
            f"execution.{status}",
            tenant_id,
            execution_id,
            {"status": status, "error": error, "workflow": execution.definition.slug, "seconds": seconds},
        )
    )


def _labels(tenant_id: int, execution_id: str) -> dict[str, Any]:
    slug = _execution(tenant_id, execution_id).values_list("definition__slug", flat=True).first()
    return {"workflow": slug or ""}
