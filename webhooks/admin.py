from django import forms
from django.contrib import admin, messages

from mono.errors import ServiceError
from webhooks.models import Integration, WebhookEvent
from webhooks.services import integrations
from webhooks.services.replay import event_replay


class IntegrationAdminForm(forms.ModelForm):
    class Meta:
        model = Integration
        fields = ["name", "enabled", "allowed_event_types"]

    def clean_allowed_event_types(self):
        try:
            return integrations.clean_event_types(self.cleaned_data.get("allowed_event_types"))
        except ServiceError as exc:
            raise forms.ValidationError(exc.detail["allowed_event_types"]) from None


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    """Secrets are never shown; create and rotate them through the API, which shows them once.

    A change is saved by `integration_update` and a deletion made by `integration_delete`, like
    over the API: validated, audited, and seen by ingest in this process at once.
    """

    form = IntegrationAdminForm

    list_display = ["name", "slug", "tenant", "workflow", "enabled", "created_at"]
    list_filter = ["enabled", "tenant"]
    search_fields = ["name", "slug"]
    fields = ["tenant", "name", "slug", "workflow", "enabled", "allowed_event_types", "previous_secret_expires_at"]
    readonly_fields = ["tenant", "slug", "workflow", "previous_secret_expires_at"]

    def has_add_permission(self, request) -> bool:
        return False  # a new integration needs its secret shown once: the API does that

    def save_model(self, request, obj, form, change):
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        if changes:
            integrations.integration_update(integration=obj, actor=request.user, **changes)

    def delete_model(self, request, obj):
        integrations.integration_delete(integration=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for integration in queryset:
            integrations.integration_delete(integration=integration, actor=request.user)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["id", "integration", "event_id", "event_type", "status", "execution", "attempts", "received_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["event_id", "integration__slug"]
    date_hierarchy = "received_at"
    actions = ["replay"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Replay: run the selected events' workflows again")
    def replay(self, request, queryset):
        started = []
        for event in queryset:
            try:
                started.append(event_replay(event=event, actor=request.user).id)
            except ServiceError as exc:
                self.message_user(request, f"{event}: {exc.detail}", messages.WARNING)
        if started:
            self.message_user(request, f"Started {len(started)} replay(s): {', '.join(started)}.")
