"""Audit events: an append-only record of changes people and workers make in a tenant."""

from typing import NoReturn

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from tenants.models import TenantOwned, TenantQuerySet


class AuditAction(models.TextChoices):
    """Everything the log records. A new kind of event is added here first."""

    WORKFLOW_CREATED = "workflow.created", "Workflow created"
    WORKFLOW_UPDATED = "workflow.updated", "Workflow updated"
    WORKFLOW_PUBLISHED = "workflow.published", "Workflow published"
    WORKFLOW_ARCHIVED = "workflow.archived", "Workflow archived"
    WORKFLOW_VERSION_RESTORED = "workflow.version_restored", "Workflow version restored"
    EXECUTION_STARTED = "execution.started", "Execution started"
    EXECUTION_CANCELLED = "execution.cancelled", "Execution cancelled"
    APPROVAL_DECIDED = "approval.decided", "Approval decided"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    INTEGRATION_CREATED = "integration.created", "Integration created"
    INTEGRATION_SECRET_ROTATED = "integration.secret_rotated", "Integration secret rotated"
    INTEGRATION_UPDATED = "integration.updated", "Integration updated"
    INTEGRATION_DELETED = "integration.deleted", "Integration deleted"
    WEBHOOK_EVENT_REPLAYED = "webhook_event.replayed", "Webhook event replayed"
    PROVIDER_CREDENTIAL_SAVED = "provider_credential.saved", "Provider credential saved"
    PAYLOAD_KEY_ROTATED = "payload_key.rotated", "Temporal payload key rotated"
    PAYLOADS_DECODED = "payloads.decoded", "Temporal payloads decoded"


class AppendOnlyError(Exception):
    """An audit event was about to be changed or deleted."""


class AuditEventQuerySet(TenantQuerySet):
    """`TenantQuerySet` for a log that is only ever appended to: bulk updates and deletes fail.

    Retention housekeeping will not go through this queryset. It will be one dedicated, explicit
    purge function in `audit.services` (old events of one tenant, older than its retention) that
    deletes with the plain `QuerySet` on purpose, so removing history is always a deliberate,
    reviewable call and never the side effect of ordinary ORM code.

    Django's own bookkeeping does not use this queryset either (it goes through the base
    manager): deleting a tenant still removes its events, and deleting a user still sets
    `actor` to NULL while `actor_label` keeps their name.
    """

    def update(self, **kwargs) -> NoReturn:
        raise AppendOnlyError("Audit events cannot be changed.")

    def bulk_update(self, objs, fields, batch_size=None) -> NoReturn:
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("Audit events cannot be deleted; retention uses the explicit purge.")

    def bulk_create(self, objs, *args, update_conflicts: bool = False, **kwargs):
        if update_conflicts:  # an upsert would rewrite existing rows
            raise AppendOnlyError("Audit events cannot be changed.")
        return super().bulk_create(objs, *args, **kwargs)


class AuditEvent(TenantOwned):
    """One thing that happened: `actor` did `action` to the target, during request `request_id`.

    Written by `audit.services.audit_record` only; never changed or deleted afterwards.
    """

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the system (workers, commands) and for users deleted since.",
    )
    actor_label = models.CharField(
        max_length=150, help_text='The username, "system", or "api key mono_<id>" as it was at the time.'
    )
    action = models.CharField(max_length=64, choices=AuditAction.choices)
    target_type = models.CharField(max_length=100, help_text="`app_label.model` of the object acted on.")
    target_id = models.CharField(max_length=64)
    request_id = models.CharField(max_length=128, blank=True, help_text="Empty outside an HTTP request.")
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="audit_tenant_time"),
            models.Index(fields=["tenant", "action", "-created_at"], name="audit_tenant_action_time"),
            models.Index(fields=["tenant", "target_type", "target_id"], name="audit_tenant_target"),
        ]
        verbose_name = "audit event"
        verbose_name_plural = "audit events"

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id} by {self.actor_label}"

    def save(self, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        # Always an INSERT: a hand-made instance carrying an existing id must fail, not overwrite.
        kwargs["force_insert"] = True
        super().save(**kwargs)

    def delete(self, *args, **kwargs) -> NoReturn:
        raise AppendOnlyError("Audit events cannot be deleted; retention uses the explicit purge.")
