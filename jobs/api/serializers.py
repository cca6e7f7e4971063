from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.models import EmailCampaign, EmailDelivery, MediaAsset, MediaKind, MediaVariant


class MediaUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, use_url=False)
    variants = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Comma-separated variant names (default: every configured variant; blank: none).",
    )

    def validate_variants(self, value: str) -> list[str]:
        return [name.strip() for name in value.split(",") if name.strip()]


class MediaVariantSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediaVariant
        fields = ["name", "width", "height", "format", "size", "created_at"]
        read_only_fields = fields


class DocumentInfoSerializer(serializers.Serializer):
    pages = serializers.IntegerField(allow_null=True, help_text="Null for formats without fixed pages (DOCX, text).")
    text_preview = serializers.CharField()
    characters = serializers.IntegerField()
    truncated = serializers.BooleanField()
    language = serializers.CharField(required=False, help_text="Only when the document declares its language.")


class VideoInfoSerializer(serializers.Serializer):
    duration_seconds = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    codec = serializers.CharField()
    audio_codec = serializers.CharField()
    frame_rate = serializers.FloatField()


class MediaAssetSerializer(serializers.ModelSerializer):
    """An asset; a processed document adds `document`, a probed video `video` (null otherwise)."""

    variants = MediaVariantSerializer(many=True, read_only=True)
    document = serializers.SerializerMethodField()
    video = serializers.SerializerMethodField()

    class Meta:
        model = MediaAsset
        fields = [
            "id", "original_name", "content_type", "size", "kind", "status", "error", "checksum",
            "variants", "document", "video", "created_at", "processed_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(DocumentInfoSerializer(allow_null=True))
    def get_document(self, asset: MediaAsset) -> dict | None:
        if asset.kind != MediaKind.DOCUMENT or "text_preview" not in asset.metadata:
            return None
        keys = ("pages", "text_preview", "characters", "truncated", "language")
        return {key: asset.metadata[key] for key in keys if key in asset.metadata}

    @extend_schema_field(VideoInfoSerializer(allow_null=True))
    def get_video(self, asset: MediaAsset) -> dict | None:
        return asset.metadata.get("video") if asset.kind == MediaKind.VIDEO else None


class RecipientSerializer(serializers.Serializer):
    email = serializers.EmailField()
    context = serializers.DictField(required=False, default=dict)


class EmailTemplatesSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=2000, trim_whitespace=False)
    body = serializers.CharField(max_length=100_000, trim_whitespace=False)
    html = serializers.CharField(
        max_length=200_000, required=False, allow_blank=True, default="", trim_whitespace=False
    )


class EmailSendSerializer(EmailTemplatesSerializer):
    to = serializers.EmailField()
    context = serializers.DictField(required=False, default=dict)


class CampaignCreateSerializer(EmailTemplatesSerializer):
    name = serializers.CharField(max_length=200)
    recipients = RecipientSerializer(many=True, allow_empty=False)


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailDelivery
        fields = ["id", "recipient", "status", "attempts", "error", "sent_at"]
        read_only_fields = fields


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailCampaign
        fields = [
            "id", "name", "kind", "status", "total_count", "sent_count", "failed_count", "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class CampaignDetailSerializer(CampaignSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "subject_template", "body_template", "html_template", "deliveries"]
        read_only_fields = fields
