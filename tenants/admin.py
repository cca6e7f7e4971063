from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from tenants import keys, services
from tenants.models import ApiKey, Membership, PayloadKey, Role, Tenant


class MembershipForm(forms.ModelForm):
    """Refuses, as a form error, an owner change the acting user may not make (the services
    would refuse it too; the admin shows why instead of failing)."""

    request_user = None  # set by the admin for each request

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or getattr(self.instance, "tenant", None)
        before = self.initial.get("role") if self.instance.pk else None
        after = cleaned.get("role")
        owner_change = before != after and Role.OWNER in (before, after)
        if tenant is not None and owner_change and not self.may_manage_owners(tenant):
            raise ValidationError(services.OWNER_ONLY_MESSAGE)
        if self.instance.pk and self.cleaned_data.get("DELETE") and before == Role.OWNER:
            if not self.may_manage_owners(tenant):
                raise ValidationError(services.OWNER_ONLY_MESSAGE)
        return cleaned

    def may_manage_owners(self, tenant) -> bool:
        return services.actor_may_manage_owners(tenant=tenant, actor=self.request_user)


def _form_for(form_class, request):
    return type(form_class.__name__, (form_class,), {"request_user": request.user})


def _save_membership(request, membership: Membership, *, tenant=None) -> Membership:
    """Create or change a membership through the services (audit and owner rules included)."""
    if membership.pk is None:
        return services.membership_add(
            tenant=tenant or membership.tenant, user=membership.user, role=membership.role, actor=request.user
        )
    return services.membership_set_role(membership=membership, role=membership.role, actor=request.user)


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    extra = 0
    autocomplete_fields = ["user"]

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = _form_for(self.form, request)
        return super().get_formset(request, obj, **kwargs)


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

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.membership_remove(membership=membership, actor=request.user)
        for membership in formset.new_objects:
            _save_membership(request, membership, tenant=form.instance)
        for membership, _ in formset.changed_objects:
            _save_membership(request, membership)

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
    form = MembershipForm

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = _form_for(self.form, request)
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # A membership's tenant and user are what it is; only its role changes.
        return ["tenant", "user"] if obj is not None else []

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.role == Role.OWNER:
            if not services.actor_may_manage_owners(tenant=obj.tenant_id, actor=request.user):
                return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        saved = _save_membership(request, obj)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            services.membership_remove(membership=membership, actor=request.user)


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
