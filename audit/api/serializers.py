from rest_framework import serializers

from audit.models import AuditAction, AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor.username",
        read_only=True,
        allow_null=True,
        help_text="The acting user's username; null for the system and for users deleted since.",
    )

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "action",
            "actor",
            "actor_label",
            "target_type",
            "target_id",
            "request_id",
            "data",
        ]
        read_only_fields = fields


class AuditEventFilterSerializer(serializers.Serializer):
    """Query parameters of the audit list; all optional."""

    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    target_type = serializers.CharField(required=False, max_length=100, help_text="e.g. `workflows.workflowdefinition`")
    target_id = serializers.CharField(required=False, max_length=64)
    actor = serializers.CharField(
        required=False, max_length=150, help_text="A username, or an actor label such as `system`."
    )
    since = serializers.DateTimeField(required=False, help_text="Events at or after this time.")
    until = serializers.DateTimeField(required=False, help_text="Events before this time.")

    def validate(self, attrs: dict) -> dict:
        if "since" in attrs and "until" in attrs and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": "Must be later than `since`."})
        return attrs
