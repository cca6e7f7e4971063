import json

from django.contrib import admin
from django.utils.html import format_html

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, for operators to read: nothing can be added, changed or deleted here."""

    list_display = ["created_at", "tenant", "actor_label", "action", "target_type", "target_id", "request_id"]
    list_filter = ["action", "tenant"]
    list_select_related = ["tenant"]
    search_fields = ["actor_label", "target_id", "request_id"]
    date_hierarchy = "created_at"
    # The log only grows; counting all of it on every page would get slower each day.
    show_full_result_count = False
    fields = [
        "created_at",
        "tenant",
        "actor",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "request_id",
        "data_pretty",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="data")
    def data_pretty(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.data, indent=2, sort_keys=True, default=str))
