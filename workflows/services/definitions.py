"""Writes for workflow definitions and their versions."""

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from audit.models import AuditAction
from audit.services import audit_record
from mono.errors import ServiceError
from workflows.graph.compiler import GraphInvalid, compile_definition
from workflows.graph.nodes import agent_workflow_tools
from workflows.graph.validation import GraphError, GraphLimits, limit_errors, validate_definition
from workflows.models import DefinitionStatus, WorkflowDefinition, WorkflowVersion
from workflows.services import schedules


class DefinitionInvalid(ServiceError):
    """The graph has problems; `detail["definition"]` lists every one with its node/edge and field."""

    def __init__(self, errors):
        super().__init__({"definition": [error.to_dict() for error in errors]})
        self.errors = errors


def graph_limits() -> GraphLimits:
    """The bounds on one definition, from settings."""
    return GraphLimits(
        max_nodes=settings.WORKFLOW_MAX_NODES,
        max_edges=settings.WORKFLOW_MAX_EDGES,
        max_definition_chars=settings.WORKFLOW_MAX_DEFINITION_CHARS,
        max_node_data_chars=settings.WORKFLOW_MAX_NODE_DATA_CHARS,
        max_template_chars=settings.WORKFLOW_MAX_TEMPLATE_CHARS,
    )


def graph_problems(*, graph, tenant=None) -> list[dict]:
    """Every problem in a graph, for the editor; a graph over its limits raises DefinitionInvalid (400).

    With `tenant`, a valid graph's agent tools are also checked against the tenant's workflows.
    """
    limits = graph_limits()
    if too_large := limit_errors(graph, limits):
        raise DefinitionInvalid(too_large)
    errors = validate_definition(graph, limits)
    if not errors and tenant is not None:
        errors = agent_tool_problems(tenant=tenant, plan=compile_graph(graph))
    return [error.to_dict() for error in errors]


def compile_graph(graph) -> dict:
    try:
        return compile_definition(graph, graph_limits()).to_dict()
    except GraphInvalid as exc:
        raise DefinitionInvalid(exc.errors) from exc


def _workflow_tools(plan: dict) -> list[tuple[str, str, int]]:
    """`(node id, field, definition id)` of every agent tool that runs a workflow."""
    return [
        (node_id, field, target)
        for node_id, node in plan["nodes"].items()
        if node["type"] == "AgentNode"
        for field, target in agent_workflow_tools(node["data"])
    ]


def agent_tool_problems(*, tenant, plan: dict, definition_id: int | None = None) -> list[GraphError]:
    """Agent tools whose workflow is not one of this tenant's, or would recurse into this one.

    Recursion is followed through the tool workflows' own newest versions, so a tool workflow whose
    agent calls back into this definition is refused as well.
    """
    problems = []
    tools = _workflow_tools(plan)
    owned = set(
        WorkflowDefinition.objects.for_tenant(tenant)
        .filter(pk__in={target for _, _, target in tools})
        .values_list("pk", flat=True)
    )
    for node_id, field, target in tools:
        if target not in owned:
            problems.append(
                GraphError("unknown_workflow", f"{field}: no workflow {target} in this tenant", node_id, None, field)
            )
        elif definition_id is not None and _reaches(tenant, target, definition_id):
            problems.append(
                GraphError(
                    "recursive_tool",
                    f"{field}: a tool cannot run the workflow that contains the agent",
                    node_id,
                    None,
                    field,
                )
            )
    return problems


def _reaches(tenant, start: int, goal: int, limit: int = 100) -> bool:
    """Whether running workflow `start` can, through agent tools, run workflow `goal`."""
    seen, frontier = set(), [start]
    while frontier and len(seen) < limit:
        current = frontier.pop()
        if current == goal:
            return True
        if current in seen:
            continue
        seen.add(current)
        definition = WorkflowDefinition.objects.for_tenant(tenant).filter(pk=current).first()
        version = definition.latest_version if definition else None
        if version is not None:
            frontier += [target for _, _, target in _workflow_tools(version.plan)]
    return False


def _check_agent_tools(tenant, plan: dict, definition_id: int | None) -> None:
    if problems := agent_tool_problems(tenant=tenant, plan=plan, definition_id=definition_id):
        raise DefinitionInvalid(problems)


def _unique_slug(tenant, name: str) -> str:
    base = slugify(name)[:90] or "workflow"
    taken = set(
        WorkflowDefinition.objects.for_tenant(tenant).filter(slug__startswith=base).values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def definition_create(
    *,
    tenant,
    name: str,
    graph: dict,
    actor=None,
    description: str = "",
    status: str = DefinitionStatus.DRAFT,
    tags: list[str] | None = None,
) -> WorkflowDefinition:
    """Create a definition and its first version; an invalid graph saves nothing."""
    plan = compile_graph(graph)
    _check_agent_tools(tenant, plan, None)
    definition = WorkflowDefinition(
        tenant=tenant,
        name=name,
        slug=_unique_slug(tenant, name),
        description=description,
        status=status,
        tags=list(dict.fromkeys(tags or [])),
        created_by=actor,
    )
    definition.full_clean(validate_constraints=False)
    definition.save()
    version = _add_version(definition, graph, plan, actor)
    schedules.definition_schedule_changed(definition=definition, had_schedule=False)
    audit_record(
        tenant=tenant,
        action=AuditAction.WORKFLOW_CREATED,
        target=definition,
        actor=actor,
        data={"name": name, "status": status, "version": version.number},
    )
    if status == DefinitionStatus.PUBLISHED:
        audit_record(
            tenant=tenant,
            action=AuditAction.WORKFLOW_PUBLISHED,
            target=definition,
            actor=actor,
            data={"version": version.number},
        )
    return definition


@transaction.atomic
def definition_update(
    *, definition: WorkflowDefinition, actor=None, graph: dict | None = None, **fields
) -> WorkflowDefinition:
    """Change name, description or status; a new graph becomes a new version (runs keep theirs)."""
    definition = WorkflowDefinition.objects.select_for_update().get(pk=definition.pk)
    previous_status, version = definition.status, None
    had_schedule = schedules.definition_trigger(definition) is not None
    if graph is not None:
        plan = compile_graph(graph)
        _check_agent_tools(definition.tenant_id, plan, definition.pk)
        latest = definition.latest_version
        if latest is None or latest.graph != graph:
            version = _add_version(definition, graph, plan, actor)
    changed = sorted(field for field, value in fields.items() if getattr(definition, field) != value)
    for field, value in fields.items():
        setattr(definition, field, value)
    definition.full_clean(validate_constraints=False)
    definition.save()
    schedules.definition_schedule_changed(definition=definition, had_schedule=had_schedule)
    if changed or version is not None:
        audit_record(
            tenant=definition.tenant_id,
            action=AuditAction.WORKFLOW_UPDATED,
            target=definition,
            actor=actor,
            data={"fields": changed, "status": definition.status, "version": version.number if version else None},
        )
    status_action = {
        DefinitionStatus.PUBLISHED: AuditAction.WORKFLOW_PUBLISHED,
        DefinitionStatus.ARCHIVED: AuditAction.WORKFLOW_ARCHIVED,
    }.get(definition.status)
    if definition.status != previous_status and status_action:
        audit_record(
            tenant=definition.tenant_id,
            action=status_action,
            target=definition,
            actor=actor,
            data={"from": previous_status},
        )
    return definition


@transaction.atomic
def definition_archive(*, definition: WorkflowDefinition, actor=None) -> WorkflowDefinition:
    """Archive instead of deleting: executions keep pointing at their definition and version."""
    previous = definition.status
    had_schedule = schedules.definition_trigger(definition) is not None
    definition.status = DefinitionStatus.ARCHIVED
    definition.save(update_fields=["status", "updated_at"])
    schedules.definition_schedule_changed(definition=definition, had_schedule=had_schedule)
    if previous != DefinitionStatus.ARCHIVED:
        audit_record(
            tenant=definition.tenant_id,
            action=AuditAction.WORKFLOW_ARCHIVED,
            target=definition,
            actor=actor,
            data={"from": previous},
        )
    return definition


@transaction.atomic
def version_restore(*, definition: WorkflowDefinition, version: WorkflowVersion, actor=None) -> WorkflowDefinition:
    """Make an old version's graph the newest version again."""
    restored = definition_update(definition=definition, actor=actor, graph=version.graph)
    audit_record(
        tenant=restored.tenant_id,
        action=AuditAction.WORKFLOW_VERSION_RESTORED,
        target=restored,
        actor=actor,
        data={"restored_version": version.number, "version": restored.latest_version.number},
    )
    return restored


def _add_version(definition: WorkflowDefinition, graph: dict, plan: dict, actor) -> WorkflowVersion:
    latest = definition.versions.order_by("-number").values_list("number", flat=True).first() or 0
    return WorkflowVersion.objects.create(
        tenant_id=definition.tenant_id, definition=definition, number=latest + 1, graph=graph, plan=plan, author=actor
    )
