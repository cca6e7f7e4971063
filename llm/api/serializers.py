from rest_framework import serializers

from llm.models import PromptTemplate
from llm.selectors import GROUPINGS


class MessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "user", "assistant"])
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)


class PromptSpecSerializer(serializers.Serializer):
    route = serializers.CharField(
        required=False, allow_blank=True, help_text="e.g. openai:gpt-4o > anthropic:claude-3-5-sonnet"
    )
    provider = serializers.CharField(required=False, allow_blank=True)
    model = serializers.CharField(required=False, allow_blank=True)
    messages = MessageSerializer(many=True, required=False)
    template = serializers.CharField(required=False, allow_blank=True)
    variables = serializers.DictField(required=False)
    temperature = serializers.FloatField(required=False, min_value=0, max_value=2)
    max_tokens = serializers.IntegerField(required=False, min_value=1, max_value=200_000)
    json_output = serializers.BooleanField(required=False)
    cache_ttl_seconds = serializers.IntegerField(required=False, min_value=0, max_value=30 * 86400)

    def validate(self, attrs):
        if not attrs.get("messages") and not attrs.get("template"):
            raise serializers.ValidationError({"messages": "Give messages or a template."})
        return attrs


class LLMExecuteSerializer(PromptSpecSerializer):
    stream = serializers.BooleanField(required=False, default=False)


class BatchSerializer(serializers.Serializer):
    items = PromptSpecSerializer(many=True, allow_empty=False, max_length=1000)
    concurrency = serializers.IntegerField(required=False, default=4, min_value=1, max_value=64)


class AnalyticsQuerySerializer(serializers.Serializer):
    group_by = serializers.MultipleChoiceField(choices=list(GROUPINGS), required=False)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)


class PromptTemplateWriteSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=100)
    system = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    user = serializers.CharField(trim_whitespace=False)
    route = serializers.CharField(required=False, allow_blank=True, default="")
    cache_ttl_seconds = serializers.IntegerField(required=False, default=0, min_value=0)


class PromptTemplateSerializer(serializers.ModelSerializer):
    version = serializers.SerializerMethodField()
    system = serializers.SerializerMethodField()
    user = serializers.SerializerMethodField()
    route = serializers.SerializerMethodField()

    class Meta:
        model = PromptTemplate
        fields = ["id", "name", "description", "version", "system", "user", "route", "created_at"]
        read_only_fields = fields

    def _latest(self, template):
        return max(template.versions.all(), key=lambda v: v.number, default=None)

    def get_version(self, template) -> int | None:
        latest = self._latest(template)
        return latest.number if latest else None

    def get_system(self, template) -> str:
        latest = self._latest(template)
        return latest.system if latest else ""

    def get_user(self, template) -> str:
        latest = self._latest(template)
        return latest.user if latest else ""

    def get_route(self, template) -> str:
        latest = self._latest(template)
        return latest.route if latest else ""


class ImageRequestSerializer(serializers.Serializer):
    prompt = serializers.CharField(max_length=4000, help_text="A template, rendered with `variables`.")
    variables = serializers.DictField(required=False, default=dict)
    route = serializers.CharField(required=False, allow_blank=True, default="")
    provider = serializers.CharField(required=False, allow_blank=True, default="")
    model = serializers.CharField(required=False, allow_blank=True, default="", help_text="e.g. dall-e-3, gpt-image-1")
    size = serializers.CharField(required=False, default="1024x1024", max_length=20)
    quality = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)
    n = serializers.IntegerField(required=False, default=1)


class TranscriptionRequestSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="Audio; its type is read from the bytes.")
    media = serializers.IntegerField(required=False, help_text="Or the id of an audio media asset.")
    route = serializers.CharField(required=False, allow_blank=True, default="")
    provider = serializers.CharField(required=False, allow_blank=True, default="")
    model = serializers.CharField(required=False, allow_blank=True, default="whisper-1")
    language = serializers.CharField(required=False, allow_blank=True, default="", max_length=16)


class LimitSerializer(serializers.Serializer):
    """One limit policy; `provider` blank means all of the tenant's providers together."""

    provider = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    requests_per_minute = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
    tokens_per_minute = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
    monthly_budget = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=0, required=False, allow_null=True, default=None
    )
    month = serializers.CharField(read_only=True)
    spent = serializers.DecimalField(max_digits=20, decimal_places=10, read_only=True)
