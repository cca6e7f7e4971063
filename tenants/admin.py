from django.contrib import admin, messages

from tenants import keys, services
from tenants.models import ApiKey, Membership, PayloadKey, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "is_active", "retention_days", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    # Receivers of the tenant's signed webhooks need the secret, so operators may read it.
    readonly_fields = ["webhook_signing_secret", "created_at"]
    inlines = [MembershipInline]
    actions = ["provision_namespaces", "rotate_payload_keys"]

    def save_model(self, request, obj, form, change):
        if change:
            services.tenant_update(
                tenant=obj,
                **{f: form.cleaned_data[f] for f in form.changed_data if f != "slug"},
            )
        else:
            created = services.tenant_create(name=obj.name, slug=obj.slug, retention_days=obj.retention_days)
            obj.pk = created.pk

    @admin.action(description="Provision Temporal namespaces")
    def provision_namespaces(self, request, queryset):
        try:
            results = services.namespaces_provision(tenants=queryset, include_platform=False)
        except Exception as exc:
            self.message_user(request, f"Temporal is unreachable: {exc}", messages.ERROR)
            return
        summary = ", ".join(f"{r.namespace} {r.action}" for r in results)
        self.message_user(request, f"Namespaces: {summary}")

    @admin.action(description="Rotate Temporal payload keys")
    def rotate_payload_keys(self, request, queryset):
        rotated = [keys.tenant_payload_key_rotate(tenant=tenant, actor=request.user) for tenant in queryset]
        self.message_user(request, "New payload keys: " + ", ".join(f"{r.namespace} {r.key_id}" for r in rotated))


@admin.register(PayloadKey)
class PayloadKeyAdmin(admin.ModelAdmin):
    """Payload keys are listed, never shown; staff rotate a namespace's key here (the platform's included)."""

    list_display = ["namespace", "key_id", "created_at", "retired_at", "master_fingerprint"]
    list_filter = ["retired_at"]
    search_fields = ["namespace", "key_id"]
    fields = ["namespace", "key_id", "master_fingerprint", "created_at", "retired_at"]
    readonly_fields = fields
    actions = ["rotate"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a deleted key makes every payload it encrypted unreadable

    @admin.action(description="Rotate the key of the selected keys' namespaces")
    def rotate(self, request, queryset):
        namespaces = sorted(set(queryset.values_list("namespace", flat=True)))
        rotated = [keys.payload_key_rotate(namespace=namespace, actor=request.user) for namespace in namespaces]
        self.message_user(request, "New payload keys: " + ", ".join(f"{r.namespace} {r.key_id}" for r in rotated))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with `create_api_key` or the API (the secret is shown once); the admin
    lists and revokes them."""

    list_display = [
        "name",
        "key_id",
        "tenant",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["tenant"]
    search_fields = ["name", "key_id", "user__username"]
    readonly_fields = [
        "tenant",
        "user",
        "name",
        "key_id",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
