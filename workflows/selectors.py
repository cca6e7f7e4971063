"""Reads for definitions, versions, executions and approvals (always tenant-scoped)."""

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
    *, tenant, status: str | None = None, name: str | None = None, include_archived: bool = False
) -> QuerySet[WorkflowDefinition]:
    """Definitions, newest first; archived ones only when asked for (by status or flag)."""
    definitions = WorkflowDefinition.objects.for_tenant(tenant).annotate(latest_number=Max("versions__number"))
    if status:
        definitions = definitions.filter(status=status)
    elif not include_archived:
        definitions = definitions.exclude(status=DefinitionStatus.ARCHIVED)
    if name:
        definitions = definitions.filter(name__icontains=name)
    return definitions


def version_list(*, tenant, definition: WorkflowDefinition) -> QuerySet[WorkflowVersion]:
    return WorkflowVersion.objects.for_tenant(tenant).filter(definition=definition).select_related("author")


def execution_list(
    *, tenant, definition: WorkflowDefinition | None = None, status: str | None = None
) -> QuerySet[WorkflowExecution]:
    executions = WorkflowExecution.objects.for_tenant(tenant).select_related("version", "started_by")
    if definition is not None:
        executions = executions.filter(definition=definition)
    if status:
        executions = executions.filter(status=status)
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
