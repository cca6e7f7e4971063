import json

from django.contrib import admin, messages
from django.utils.html import format_html

from mono.errors import ServiceError
from workflows.models import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    DefinitionStatus,
    EmailTemplate,
    Record,
    StepExecution,
    WorkflowDefinition,
    WorkflowExecution,
    WorkflowVersion,
)
from workflows.services import approvals, definitions


def pretty_json(value) -> str:
    return format_html("<pre style='max-height:30em;overflow:auto'>{}</pre>", json.dumps(value, indent=2, default=str))


class VersionInline(admin.TabularInline):
    model = WorkflowVersion
    fields = ["number", "author", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkflowDefinition)
class WorkflowDefinitionAdmin(admin.ModelAdmin):
    """Every change is saved by the definition service, as over the API.

    The service keeps the Temporal Schedule of a `trigger: schedule` workflow in step with its
    status and writes the audit events; a plain `save()` here would skip both.
    """

    list_display = ["name", "tenant", "status", "updated_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["name", "slug"]
    readonly_fields = ["tenant", "slug", "created_by", "created_at", "updated_at"]
    fields = ["tenant", "name", "slug", "description", "status", "created_by", "created_at", "updated_at"]
    inlines = [VersionInline]
    actions = ["publish", "archive"]

    def has_add_permission(self, request) -> bool:
        return False  # definitions are drawn in the editor or posted to the API

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # archived instead, like the API's DELETE: runs keep their definition

    def save_model(self, request, obj, form, change):
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        if changes:
            definitions.definition_update(definition=obj, actor=request.user, **changes)

    @admin.action(description="Publish selected")
    def publish(self, request, queryset):
        for definition in queryset.exclude(status=DefinitionStatus.PUBLISHED):
            definitions.definition_update(definition=definition, actor=request.user, status=DefinitionStatus.PUBLISHED)
            self.message_user(request, f"{definition}: published.")

    @admin.action(description="Archive selected (removes their schedules)")
    def archive(self, request, queryset):
        for definition in queryset.exclude(status=DefinitionStatus.ARCHIVED):
            definitions.definition_archive(definition=definition, actor=request.user)
            self.message_user(request, f"{definition}: archived.")


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    """Versions are immutable: the admin shows them, read-only."""

    list_display = ["definition", "number", "author", "created_at"]
    list_filter = ["tenant"]
    fields = ["definition", "number", "author", "created_at", "graph_pretty"]
    readonly_fields = fields

    @admin.display(description="graph")
    def graph_pretty(self, version: WorkflowVersion) -> str:
        return pretty_json(version.graph)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting the newest version would change the definition behind its service


class StepInline(admin.TabularInline):
    model = StepExecution
    fields = ["node_id", "node_type", "status", "attempt", "error", "started_at", "finished_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "definition", "status", "created_at", "finished_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["id", "definition__name"]
    readonly_fields = [f.name for f in WorkflowExecution._meta.fields]
    inlines = [StepInline]

    def has_add_permission(self, request) -> bool:
        return False


class DecisionInline(admin.TabularInline):
    model = ApprovalDecision
    fields = ["user", "decision", "comment", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    """Approve/reject act as the operator and go through the same service as the API."""

    list_display = ["execution", "node_id", "tenant", "status", "deadline", "created_at"]
    list_filter = ["status", "tenant"]
    readonly_fields = [f.name for f in ApprovalRequest._meta.fields]
    inlines = [DecisionInline]
    actions = ["approve", "reject"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Approve selected (as me)")
    def approve(self, request, queryset):
        self._decide(request, queryset, "approve")

    @admin.action(description="Reject selected (as me)")
    def reject(self, request, queryset):
        self._decide(request, queryset, "reject")

    def _decide(self, request, queryset, decision: str) -> None:
        for approval in queryset.filter(status=ApprovalStatus.PENDING):
            try:
                approvals.approval_decide(approval=approval, user=request.user, decision=decision, comment="via admin")
            except ServiceError as exc:
                self.message_user(request, f"{approval}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{approval}: {decision}d.")


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "subject"]
    list_filter = ["tenant"]


@admin.register(Record)
class RecordAdmin(admin.ModelAdmin):
    list_display = ["collection", "key", "tenant", "updated_at"]
    list_filter = ["tenant", "collection"]
    search_fields = ["key"]
