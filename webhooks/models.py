"""Inbound webhooks: integrations (a signed endpoint that starts a workflow) and the events they received."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from mono import crypto
from mono.starts import OwedStart
from tenants.models import Tenant, TenantOwned
from workflows.models import WorkflowDefinition, WorkflowExecution


class Integration(TenantOwned):
    """`POST /api/v1/webhooks/integration/{slug}`, signed with the integration's secret, starts `workflow`.

    Secrets are stored encrypted with the project's Fernet helper (`mono.crypto`, keyed by
    `LLM_CREDENTIAL_KEY` or `SECRET_KEY`): verifying needs the plain secret, so it cannot be hashed.
    After a rotation the previous secret keeps verifying until `previous_secret_expires_at`.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True, help_text="Globally unique: the endpoint's path.")
    workflow = models.ForeignKey(WorkflowDefinition, on_delete=models.PROTECT, related_name="integrations")
    enabled = models.BooleanField(default=True)
    allowed_event_types = models.JSONField(
        default=list, blank=True, help_text="Values of the body's `type` field that start the workflow; empty: all."
    )
    signing_secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "integration"
        verbose_name_plural = "integrations"

    def __str__(self) -> str:
        return self.slug

    @property
    def signing_secret(self) -> str:
        return crypto.decrypt(self.signing_secret_encrypted)

    def allows(self, event_type: str) -> bool:
        return not self.allowed_event_types or event_type in self.allowed_event_types


class EventStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # stored, its workflow not started yet (the relay retries)
    STARTED = "started", "Started"
    FAILED = "failed", "Failed"  # could never start (e.g. the workflow was archived)
    IGNORED = "ignored", "Ignored"  # its type is not in the integration's allowed event types


class WebhookEvent(TenantOwned, OwedStart):
    """One accepted request, stored before its workflow starts. `event_id` is its `webhook-id`."""

    # Every insert is on the ingest hot path, so no index is kept twice: the tenant's and the
    # integration's lookups use the leading columns of the composite indexes below.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="events", db_index=False)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=200, blank=True)
    headers = models.JSONField(
        default=dict, blank=True, help_text="Request headers, signature and credentials removed."
    )
    body = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.PENDING)
    execution = models.ForeignKey(
        WorkflowExecution, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    replay_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["integration", "event_id"], name="webhook_event_unique_id")]
        indexes = [
            # The log's order, and housekeeping's per-tenant `received_at` cut-off.
            models.Index(fields=["tenant", "-received_at"], name="webhook_event_tenant_time"),
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_event_pending",
                condition=models.Q(status="pending"),
            ),
        ]
        verbose_name = "webhook event"
        verbose_name_plural = "webhook events"

    def __str__(self) -> str:
        return f"{self.integration_id}/{self.event_id} {self.status}"
