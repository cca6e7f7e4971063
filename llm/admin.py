from django import forms
from django.contrib import admin

from llm import limits, services
from llm.models import (
    LimitPolicy,
    LLMBatch,
    LLMUsage,
    ModelPrice,
    PromptTemplate,
    PromptTemplateVersion,
    ProviderCredential,
    ProviderHealth,
)


class ProviderCredentialForm(forms.ModelForm):
    base_url = forms.URLField(required=False, assume_scheme="https")
    api_key = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave empty to keep the stored key."
    )

    class Meta:
        model = ProviderCredential
        fields = ["tenant", "name", "kind", "base_url", "is_active"]


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    """Keys are written encrypted and never shown again; every save goes through the service
    (encryption, validation and the audit event live there)."""

    form = ProviderCredentialForm
    list_display = ["name", "kind", "tenant", "base_url", "is_active"]
    list_filter = ["kind", "tenant"]

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        services.credential_save(
            tenant=data["tenant"],
            name=data["name"],
            kind=data["kind"],
            base_url=data.get("base_url") or "",
            api_key=data.get("api_key") or None,
            is_active=data["is_active"],
            credential=obj,
            actor=request.user,
        )


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ["provider", "model", "input_per_million", "output_per_million", "updated_at"]
    list_editable = ["input_per_million", "output_per_million"]
    list_filter = ["provider"]


class PromptVersionInline(admin.TabularInline):
    model = PromptTemplateVersion
    fields = ["number", "system", "user", "route", "cache_ttl_seconds", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "created_at"]
    list_filter = ["tenant"]
    inlines = [PromptVersionInline]


@admin.register(LLMUsage)
class LLMUsageAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "tenant",
        "scope",
        "provider",
        "model",
        "status",
        "input_tokens",
        "output_tokens",
        "cost",
        "latency_ms",
    ]
    list_filter = ["status", "scope", "provider", "tenant"]
    readonly_fields = [f.name for f in LLMUsage._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(LimitPolicy)
class LimitPolicyAdmin(admin.ModelAdmin):
    list_display = ["tenant", "provider", "requests_per_minute", "tokens_per_minute", "monthly_budget"]
    list_filter = ["tenant"]

    # The gateway keeps which tenants have limits for a few seconds; a change here applies at once.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        limits.forget_limited_providers()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        limits.forget_limited_providers()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        limits.forget_limited_providers()


@admin.register(ProviderHealth)
class ProviderHealthAdmin(admin.ModelAdmin):
    list_display = ["key", "cooldown_until", "consecutive_failures", "updated_at"]


@admin.register(LLMBatch)
class LLMBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "status", "total", "created_at", "finished_at"]
    readonly_fields = [f.name for f in LLMBatch._meta.fields]
