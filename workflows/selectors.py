"""Reads for definitions, versions, executions and approvals (always tenant-scoped)."""

from datetime import date, datetime

from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncDate

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


class _Percentile(Aggregate):
    """PostgreSQL's continuous percentile of an ordered set (`percentile_cont(f) WITHIN GROUP ...`)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), output_field=DurationField(), **extra)


def _runs_between(*, tenant, since: date, until: date) -> QuerySet[WorkflowExecution]:
    return WorkflowExecution.objects.for_tenant(tenant).filter(created_at__date__gte=since, created_at__date__lte=until)


def execution_counts_by_day(*, tenant, since: date, until: date) -> list[dict]:
    """How many runs were created each day, by status (days without runs are absent)."""
    rows = (
        _runs_between(tenant=tenant, since=since, until=until)
        .annotate(day=TruncDate("created_at"))
        .values("day", "status")
        .annotate(runs=Count("id"))
        .order_by("day", "status")
    )
    return [{"day": row["day"].isoformat(), "status": row["status"], "runs": row["runs"]} for row in rows]


def execution_durations(*, tenant, since: date, until: date) -> list[dict]:
    """Per workflow, its finished runs' duration (start to finish) at the median and the 95th percentile."""
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    rows = (
        _runs_between(tenant=tenant, since=since, until=until)
        .filter(started_at__isnull=False, finished_at__isnull=False)
        .values("definition_id", "definition__name")
        .annotate(runs=Count("id"), p50=_Percentile(took, fraction=0.5), p95=_Percentile(took, fraction=0.95))
        .order_by("definition__name", "definition_id")
    )
    return [
        {
            "workflow": row["definition_id"],
            "name": row["definition__name"],
            "runs": row["runs"],
            "p50_ms": round(row["p50"].total_seconds() * 1000),
            "p95_ms": round(row["p95"].total_seconds() * 1000),
        }
        for row in rows
    ]


def workflows_by_llm_cost(*, tenant, since: date, until: date, limit: int = 10) -> list[dict]:
    """The workflows whose runs spent most on LLM calls (workflow LLM and agent nodes), most first."""
    from llm.models import LLMUsage

    definition_of = WorkflowExecution.objects.for_tenant(tenant).filter(pk=OuterRef("execution_id"))
    rows = (
        LLMUsage.objects.for_tenant(tenant)
        .filter(created_at__date__gte=since, created_at__date__lte=until)
        .exclude(execution_id="")
        .annotate(workflow=Subquery(definition_of.values("definition_id")[:1]))
        .filter(workflow__isnull=False)
        .values("workflow")
        .annotate(
            cost=Sum("cost"), requests=Count("id"), input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens")
        )
        .order_by("-cost", "workflow")[:limit]
    )
    names = dict(
        WorkflowDefinition.objects.for_tenant(tenant)
        .filter(pk__in=[row["workflow"] for row in rows])
        .values_list("pk", "name")
    )
    return [
        {
            "workflow": row["workflow"],
            "name": names.get(row["workflow"], ""),
            "cost": str(row["cost"] or 0),
            "requests": row["requests"],
            "tokens": (row["input_tokens"] or 0) + (row["output_tokens"] or 0),
        }
        for row in rows
    ]
