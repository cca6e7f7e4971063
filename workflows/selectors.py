"""Reads for definitions, versions, executions and approvals (always tenant-scoped)."""

from datetime import datetime

from django.db.models import Max, QuerySet

from workflows.models import (
    ApprovalRequest,
    ApprovalStatus,
    DefinitionStatus,
    WorkflowDefinition,
    WorkflowExecution,
    WorkflowVersion,
)


def definition_list(
    *,
    tenant,
    status: str | None = None,
    name: str | None = None,
    include_archived: bool = False,
    tag: str | None = None,
) -> QuerySet[WorkflowDefinition]:
    """Definitions, newest first; archived ones only when asked for (by status or flag)."""
    definitions = WorkflowDefinition.objects.for_tenant(tenant).annotate(latest_number=Max("versions__number"))
    if status:
        definitions = definitions.filter(status=status)
    elif not include_archived:
        definitions = definitions.exclude(status=DefinitionStatus.ARCHIVED)
    if name:
        definitions = definitions.filter(name__icontains=name)
    if tag:
        definitions = definitions.filter(tags__contains=[tag])
    return definitions


def version_list(*, tenant, definition: WorkflowDefinition) -> QuerySet[WorkflowVersion]:
    return WorkflowVersion.objects.for_tenant(tenant).filter(definition=definition).select_related("author")


# What started a run shows in its id (a business key): a schedule's fire, a webhook event, or a
# person or API client (a fresh `execution-` id).
TRIGGER_PREFIXES = {"schedule": "workflow-schedule-", "webhook": "webhook-", "manual": "execution-"}


def execution_trigger(execution_id: str) -> str:
    """`schedule`, `webhook` or `manual`: what started the run with this id."""
    for trigger, prefix in TRIGGER_PREFIXES.items():
        if execution_id.startswith(prefix):
            return trigger
    return "manual"


def execution_list(
    *,
    tenant,
    definition: WorkflowDefinition | None = None,
    status: str | None = None,
    workflow_id: int | None = None,
    started_by: str | None = None,
    trigger: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[WorkflowExecution]:
    """The tenant's runs, newest first, narrowed by any of the filters given."""
    executions = WorkflowExecution.objects.for_tenant(tenant).select_related("version", "started_by")
    if definition is not None:
        executions = executions.filter(definition=definition)
    if workflow_id is not None:
        executions = executions.filter(definition_id=workflow_id)
    if status:
        executions = executions.filter(status=status)
    if started_by:
        executions = executions.filter(started_by__username=started_by)
    if trigger:
        executions = executions.filter(id__startswith=TRIGGER_PREFIXES[trigger])
    if created_after is not None:
        executions = executions.filter(created_at__gte=created_after)
    if created_before is not None:
        executions = executions.filter(created_at__lt=created_before)
    return executions


def approval_list(
    *,
    tenant,
    user=None,
    status: str | None = None,
    execution_id: str | None = None,
    mine: str | None = None,
) -> QuerySet[ApprovalRequest]:
    """Approvals of the tenant; with `user`, only those the user may decide (their inbox), and with
    `mine="waiting"` only pending ones they have not voted on yet, `mine="decided"` those they voted on."""
    approvals = ApprovalRequest.objects.for_tenant(tenant).prefetch_related("decisions__user")
    if user is not None:
        approvals = approvals.filter(eligible_usernames__contains=[user.username])
        if mine == "waiting":
            approvals = approvals.filter(status=ApprovalStatus.PENDING).exclude(decisions__user=user)
        elif mine == "decided":
            approvals = approvals.filter(decisions__user=user)
    if status:
        approvals = approvals.filter(status=status)
    if execution_id:
        approvals = approvals.filter(execution_id=execution_id)
    return approvals
