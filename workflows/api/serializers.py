from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from mono.temporal.client import tenant_namespace
from workflows import selectors
from workflows.models import (
    ApprovalDecision,
    ApprovalRequest,
    DefinitionStatus,
    EmailTemplate,
    ExecutionStatus,
    StepExecution,
    WorkflowDefinition,
    WorkflowExecution,
    WorkflowVersion,
)


class DefinitionSerializer(serializers.ModelSerializer):
    latest_version = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowDefinition
        fields = ["id", "name", "slug", "description", "status", "tags", "latest_version", "created_at", "updated_at"]
        read_only_fields = fields

    def get_latest_version(self, definition: WorkflowDefinition) -> int | None:
        if hasattr(definition, "latest_number"):  # annotated by the list selector
            return definition.latest_number
        latest = definition.latest_version
        return latest.number if latest else None


class DefinitionDetailSerializer(DefinitionSerializer):
    definition = serializers.SerializerMethodField()

    class Meta(DefinitionSerializer.Meta):
        fields = [*DefinitionSerializer.Meta.fields, "definition"]
        read_only_fields = fields

    def get_definition(self, definition: WorkflowDefinition) -> dict | None:
        latest = definition.latest_version
        return latest.graph if latest else None


class DefinitionWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=[DefinitionStatus.DRAFT, DefinitionStatus.PUBLISHED], required=False)
    tags = serializers.ListField(
        child=serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,39}$", max_length=40),
        required=False,
        max_length=20,
        help_text="Lower-case slugs, at most 20.",
    )
    definition = serializers.JSONField(help_text="ReactFlow toObject() document: nodes, edges, viewport.")


class DefinitionFilterSerializer(serializers.Serializer):
    tag = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,39}$", max_length=40, required=False)


class GraphSerializer(serializers.Serializer):
    definition = serializers.JSONField()


class VersionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, read_only=True)

    class Meta:
        model = WorkflowVersion
        fields = ["number", "author", "created_at", "graph"]
        read_only_fields = fields


class ExecuteSerializer(serializers.Serializer):
    input = serializers.JSONField(required=False, default=dict)

    def validate_input(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Input must be a JSON object.")
        return value


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepExecution
        fields = ["node_id", "node_type", "status", "attempt", "input", "output", "error", "started_at", "finished_at"]
        read_only_fields = fields


class ExecutionSerializer(serializers.ModelSerializer):
    workflow = serializers.IntegerField(source="definition_id", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    started_by = serializers.CharField(source="started_by.username", default=None, read_only=True)
    trigger = serializers.SerializerMethodField()
    temporal = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowExecution
        fields = [
            "id", "workflow", "version", "status", "input", "output", "error", "started_by", "trigger",
            "created_at", "started_at", "finished_at", "temporal",
        ]  # fmt: skip
        read_only_fields = fields

    def get_trigger(self, execution: WorkflowExecution) -> str:
        return selectors.execution_trigger(execution.pk)

    def get_temporal(self, execution: WorkflowExecution) -> dict:
        namespace = tenant_namespace(execution.tenant_id)
        return {
            "namespace": namespace,
            "workflow_id": execution.id,
            "run_id": execution.run_id,
            "ui_url": f"{settings.TEMPORAL_UI_URL}/namespaces/{namespace}/workflows/{execution.id}",
        }


class ExecutionDetailSerializer(ExecutionSerializer):
    steps = StepSerializer(many=True, read_only=True)

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "steps"]
        read_only_fields = fields


class DecisionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApprovalDecision
        fields = ["user", "decision", "comment", "created_at"]
        read_only_fields = fields


class ApprovalSerializer(serializers.ModelSerializer):
    execution = serializers.CharField(source="execution_id", read_only=True)
    eligible = serializers.JSONField(source="eligible_usernames", read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta:
        model = ApprovalRequest
        fields = [
            "id", "execution", "node_id", "message", "approvers", "eligible", "quorum", "deadline",
            "on_timeout", "status", "timed_out", "created_at", "decided_at", "decisions",
        ]  # fmt: skip
        read_only_fields = fields


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class TemplateSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    definition = serializers.JSONField()


class InstantiateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)


class ScheduleFireSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField()


class ScheduleSerializer(serializers.Serializer):
    """A workflow's Temporal Schedule as `describe()` reports it."""

    schedule_id = serializers.CharField()
    cron = serializers.CharField()
    timezone = serializers.CharField()
    paused = serializers.BooleanField()
    note = serializers.CharField(allow_blank=True)
    next_fire_times = serializers.ListField(child=serializers.DateTimeField())
    recent_fires = ScheduleFireSerializer(many=True)
    fires = serializers.IntegerField()


class ExecutionFilterSerializer(serializers.Serializer):
    """The runs list's query parameters; a bad one answers 400 naming it."""

    status = serializers.ChoiceField(choices=ExecutionStatus.choices, required=False)
    workflow = serializers.IntegerField(required=False, min_value=1)
    started_by = serializers.CharField(required=False, max_length=150)
    trigger = serializers.ChoiceField(choices=list(selectors.TRIGGER_PREFIXES), required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        after, before = attrs.get("created_after"), attrs.get("created_before")
        if after and before and after >= before:
            raise serializers.ValidationError({"created_before": "Must be later than created_after."})
        return attrs


class UsageQuerySerializer(serializers.Serializer):
    """A span of whole days (UTC), at most a year; the last 30 days unless given."""

    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)

    def validate(self, attrs):
        until = attrs.get("until") or timezone.now().date()
        since = attrs.get("since") or until - timedelta(days=29)
        if since > until:
            raise serializers.ValidationError({"since": "Must not be after until."})
        if (until - since).days > 366:
            raise serializers.ValidationError({"since": "At most a year at a time."})
        return {"since": since, "until": until}


class EmailTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailTemplate
        fields = ["id", "name", "subject", "body"]
        read_only_fields = ["id"]
        # Uniqueness is the service's upsert, not a validation error.
        validators = []
