from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from webhooks.models import EventStatus, Integration, WebhookEvent
from workflows.models import WorkflowDefinition


class IntegrationSerializer(serializers.ModelSerializer):
    workflow = serializers.IntegerField(source="workflow_id", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id", "name", "slug", "url", "workflow", "enabled", "allowed_event_types",
            "previous_secret_expires_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, integration: Integration) -> str:
        path = f"/api/v1/webhooks/integration/{integration.slug}"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class IntegrationWithSecretSerializer(IntegrationSerializer):
    """Only the create and rotate-secret answers carry the secret."""

    secret = serializers.CharField(read_only=True)

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "secret"]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.INT)
class TenantWorkflowField(serializers.PrimaryKeyRelatedField):
    """A workflow definition of the request's tenant; another tenant's is 'does not exist'."""

    def get_queryset(self):
        return WorkflowDefinition.objects.for_tenant(self.context["request"].tenant)


class IntegrationWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100, required=False)
    workflow = TenantWorkflowField()
    enabled = serializers.BooleanField(required=False, default=True)
    allowed_event_types = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, allow_empty=True
    )


class IntegrationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    workflow = TenantWorkflowField(required=False)
    enabled = serializers.BooleanField(required=False)
    allowed_event_types = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, allow_empty=True
    )

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
        return attrs


class RotateSecretSerializer(serializers.Serializer):
    overlap_seconds = serializers.IntegerField(
        required=False, default=24 * 3600, min_value=0, max_value=7 * 24 * 3600,
        help_text="How long the previous secret keeps verifying (default 24 h, 0: not at all).",
    )  # fmt: skip


class EventExecutionSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()


class WebhookEventSerializer(serializers.ModelSerializer):
    integration = serializers.IntegerField(source="integration_id", read_only=True)
    integration_slug = serializers.CharField(source="integration.slug", read_only=True)
    execution = EventExecutionSerializer(read_only=True, allow_null=True)

    class Meta:
        model = WebhookEvent
        fields = [
            "id", "integration", "integration_slug", "event_id", "event_type", "status", "execution",
            "error", "attempts", "replay_count", "received_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookEventDetailSerializer(WebhookEventSerializer):
    class Meta(WebhookEventSerializer.Meta):
        fields = [*WebhookEventSerializer.Meta.fields, "headers", "body"]
        read_only_fields = fields


class EventFilterSerializer(serializers.Serializer):
    integration = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=EventStatus.choices, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
