"""Tenants, their members, and the API keys members use."""

import base64
import hashlib
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    APPROVER = "approver", "Approver"
    VIEWER = "viewer", "Viewer"


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    is_active = models.BooleanField(default=True)
    retention_days = models.PositiveIntegerField(
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="How long Temporal keeps closed runs and Mono keeps execution history.",
    )
    webhook_signing_secret = models.CharField(
        max_length=100,
        default=new_signing_secret,
        help_text="Signs the bodies of outgoing webhook calls (Standard Webhooks).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Indexed: worker hosts page through the tenants changed since their last refresh.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "tenant"
        verbose_name_plural = "tenants"

    def __str__(self) -> str:
        return self.slug


class TenantQuerySet(models.QuerySet):
    """The one way to read tenant-owned rows: `Model.objects.for_tenant(tenant)`."""

    def for_tenant(self, tenant: "Tenant | int"):
        return self.filter(tenant_id=tenant if isinstance(tenant, int) else tenant.pk)


class TenantOwned(models.Model):
    """Base for every tenant-owned model: a tenant foreign key and `TenantQuerySet`.

    The default manager is deliberately unfiltered (admin, migrations and related lookups need
    it); code reaches tenant data through `for_tenant(...)`.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(TenantOwned):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user")]
        verbose_name = "membership"
        verbose_name_plural = "memberships"

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant_id} as {self.role}"


class ApiKey(TenantOwned):
    """A secret that acts as its member in its tenant. Only a hash of the secret is stored."""

    PREFIX = "mono_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True, help_text="Public part of the key, used to find it.")
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self) -> str:
        return f"{self.name} ({self.PREFIX}{self.key_id}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_secret(secret: str) -> str:
        # The secret is 256 random bits, so a fast hash is enough; no password stretching.
        return hashlib.sha256(secret.encode()).hexdigest()


class PayloadKey(models.Model):
    """A data key that encrypts a Temporal namespace's payloads, stored wrapped by the master key.

    Keyed by namespace (a tenant's `mono-tenant-{id}`, or the platform's), not by a foreign key:
    the platform namespace has no tenant, and a key must outlive its tenant for as long as Temporal
    keeps the tenant's histories. The newest key of a namespace (`retired_at` empty) encrypts new
    payloads; retired keys still decrypt old ones. Nothing here is ever shown: `key_id` is public
    (it travels in payload metadata), `wrapped_key` is useless without the master key.
    """

    namespace = models.CharField(max_length=255)
    key_id = models.CharField(max_length=32, unique=True)
    wrapped_key = models.BinaryField()
    master_fingerprint = models.CharField(max_length=16, help_text="Which master key wrapped this key.")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "payload key"
        verbose_name_plural = "payload keys"
        ordering = ["namespace", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["namespace"], condition=models.Q(retired_at__isnull=True), name="payload_key_one_current"
            )
        ]

    def __str__(self) -> str:
        return f"{self.namespace} {self.key_id}{' (retired)' if self.retired_at else ''}"
