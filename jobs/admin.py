"""Read-mostly admin: operators inspect uploads and sends, re-queue an image, never edit history."""

from django.contrib import admin, messages

from jobs.models import EmailCampaign, EmailDelivery, MediaAsset, MediaVariant
from jobs.services import media


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MediaVariantInline(ReadOnlyInline):
    model = MediaVariant
    fields = ["name", "file", "width", "height", "format", "size", "created_at"]
    readonly_fields = fields


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = ["original_name", "tenant", "kind", "content_type", "size", "status", "created_at"]
    list_filter = ["status", "kind", "tenant"]
    search_fields = ["original_name", "checksum"]
    readonly_fields = [
        "tenant", "file", "original_name", "content_type", "size", "kind", "status", "error", "checksum",
        "variant_specs", "metadata", "uploaded_by", "created_at", "processed_at",
    ]  # fmt: skip
    inlines = [MediaVariantInline]
    actions = ["process_again"]

    def has_add_permission(self, request) -> bool:
        return False  # uploads go through the API, which detects types and enforces limits

    @admin.action(description="Process again (image variants, document text, video variants)")
    def process_again(self, request, queryset):
        started = 0
        for asset in queryset:
            if media.needs_processing(asset.kind, asset.content_type):
                media.media_process_again(asset=asset)
                started += 1
        self.message_user(request, f"Queued {started} asset(s).", messages.SUCCESS)


class EmailDeliveryInline(ReadOnlyInline):
    model = EmailDelivery
    fields = ["recipient", "status", "attempts", "error", "sent_at", "context"]
    readonly_fields = fields


@admin.register(EmailCampaign)
class EmailCampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "kind", "status", "total_count", "sent_count", "failed_count", "created_at"]
    list_filter = ["status", "kind", "tenant"]
    search_fields = ["name"]
    readonly_fields = [
        "tenant", "name", "kind", "subject_template", "body_template", "html_template", "status", "total_count",
        "sent_count", "failed_count", "created_by", "created_at", "finished_at",
    ]  # fmt: skip
    inlines = [EmailDeliveryInline]

    def has_add_permission(self, request) -> bool:
        return False  # campaigns start through the API so their workflow starts with them
