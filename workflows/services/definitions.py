"""Writes for workflow definitions and their versions."""

from django.db import transaction
from django.utils.text import slugify

from audit.models import AuditAction
from audit.services import audit_record
from mono.errors import ServiceError
from workflows import schedules
from workflows.graph.compiler import GraphInvalid, compile_definition
from workflows.models import DefinitionStatus, WorkflowDefinition, WorkflowVersion


class DefinitionInvalid(ServiceError):
    """The graph has problems; `detail["definition"]` lists every one with its node/edge and field."""

    def __init__(self, errors):
        super().__init__({"definition": [error.to_dict() for error in errors]})
        self.errors = errors


def compile_graph(graph) -> dict:
    try:
        return compile_definition(graph).to_dict()
    except GraphInvalid as exc:
        raise DefinitionInvalid(exc.errors) from exc


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
