"""Inbound webhook integrations: create, change, delete, and rotate their signing secrets.

Secrets are stored encrypted and appear in the create and rotate answers only. A rotation keeps
the previous secret verifying for an overlap window, so senders can switch without a gap.
"""

import secrets
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.models import AuditAction
from audit.services import audit_record
from mono import crypto
from mono.errors import ServiceError
from tenants.models import new_signing_secret
from webhooks.models import Integration
from webhooks.services.receive import forget_verifiers
from workflows.models import DefinitionStatus, WorkflowDefinition

DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)


def _check_workflow(*, tenant, workflow: WorkflowDefinition) -> None:
    """The target must be the tenant's, not archived, and start with a `trigger: webhook` StartNode.

    Requiring the trigger keeps a manually started workflow from being exposed to the internet by
    mistake; it is checked when the integration is saved (the definition may change later, and
    events then run its newest version).
    """
    if workflow.tenant_id != tenant.pk:
        raise ServiceError({"workflow": "No such workflow."})
    if workflow.status == DefinitionStatus.ARCHIVED:
        raise ServiceError({"workflow": "An archived workflow cannot receive webhooks."})
    version = workflow.latest_version
    if version is None or version.start_data.get("trigger") != "webhook":
        raise ServiceError({"workflow": "The workflow's StartNode must have `trigger: webhook`."})


class IntegrationGone(ServiceError):
    """The integration is not there any more (deleted meanwhile)."""

    status_code = 404


def _locked(integration: Integration) -> Integration:
    """The integration's row, locked and read again within its tenant; 404 if it was deleted."""
    locked = Integration.objects.for_tenant(integration.tenant_id).select_for_update().filter(pk=integration.pk).first()
    if locked is None:
        raise IntegrationGone("No such integration.")
    return locked


def clean_event_types(value: Any) -> list[str]:
    """Allowed event types as stored: non-empty strings, stripped, each once (also for the admin's form)."""
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ServiceError({"allowed_event_types": "A list of non-empty event type strings (empty: all)."})
    return list(dict.fromkeys(item.strip() for item in value))


def _new_slug(name: str) -> str:
    base = slugify(name)[:60].strip("-") or "integration"
    return f"{base}-{secrets.token_hex(4)}"


@transaction.atomic
def integration_create(
    *,
    tenant,
    name: str,
    workflow: WorkflowDefinition,
    slug: str = "",
    enabled: bool = True,
    allowed_event_types: list[str] | None = None,
    actor=None,
) -> tuple[Integration, str]:
    """Create an integration; returns it and its signing secret, which is never shown again."""
    _check_workflow(tenant=tenant, workflow=workflow)
    slug = slug or _new_slug(name)
    if Integration.objects.filter(slug=slug).exists():
        raise ServiceError({"slug": "This slug is taken."})
    secret = new_signing_secret()
    integration = Integration(
        tenant=tenant,
        name=name,
        slug=slug,
        workflow=workflow,
        enabled=enabled,
        allowed_event_types=clean_event_types(allowed_event_types or []),
        signing_secret_encrypted=crypto.encrypt(secret),
        created_by=actor,
    )
    integration.full_clean(exclude=["tenant", "workflow", "created_by", "slug"])
    try:
        with transaction.atomic():
            integration.save()
    except IntegrityError:  # the same slug taken concurrently
        raise ServiceError({"slug": "This slug is taken."}) from None
    audit_record(
        tenant=tenant,
        action=AuditAction.INTEGRATION_CREATED,
        target=integration,
        actor=actor,
        data={"name": name, "slug": slug, "workflow": workflow.slug},
    )
    return integration, secret


@transaction.atomic
def integration_update(*, integration: Integration, actor=None, **changes) -> Integration:
    """Change name, workflow, enabled or allowed event types (the slug and secret stay)."""
    allowed = {"name", "workflow", "enabled", "allowed_event_types"}
    unknown = set(changes) - allowed
    if unknown:
        raise ServiceError({name: "This field cannot be changed." for name in sorted(unknown)})
    if "workflow" in changes:
        _check_workflow(tenant=integration.tenant, workflow=changes["workflow"])
    if "allowed_event_types" in changes:
        changes["allowed_event_types"] = clean_event_types(changes["allowed_event_types"])
    integration = _locked(integration)
    for field, value in changes.items():
        setattr(integration, field, value)
    integration.full_clean(exclude=["tenant", "workflow", "created_by", "slug"])
    integration.save()
    transaction.on_commit(lambda: forget_verifiers(integration.slug))
    data = {key: (value.slug if isinstance(value, WorkflowDefinition) else value) for key, value in changes.items()}
    audit_record(
        tenant=integration.tenant_id,
        action=AuditAction.INTEGRATION_UPDATED,
        target=integration,
        actor=actor,
        data=data,
    )
    return integration


@transaction.atomic
def integration_delete(*, integration: Integration, actor=None) -> None:
    """Delete the integration and its event log (its workflow runs stay)."""
    audit_record(
        tenant=integration.tenant_id,
        action=AuditAction.INTEGRATION_DELETED,
        target=integration,
        actor=actor,
        data={"name": integration.name, "slug": integration.slug},
    )
    slug = integration.slug
    integration.delete()
    transaction.on_commit(lambda: forget_verifiers(slug))


@transaction.atomic
def integration_rotate_secret(
    *, integration: Integration, overlap: timedelta = DEFAULT_OVERLAP, actor=None
) -> tuple[Integration, str]:
    """A new secret; the old one keeps verifying for `overlap` (0: not at all). Returns the new secret."""
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise ServiceError({"overlap_seconds": f"Between 0 and {int(MAX_OVERLAP.total_seconds())} seconds."})
    integration = _locked(integration)
    secret = new_signing_secret()
    if overlap:
        integration.previous_secret_encrypted = integration.signing_secret_encrypted
        integration.previous_secret_expires_at = timezone.now() + overlap
    else:
        integration.previous_secret_encrypted = ""
        integration.previous_secret_expires_at = None
    integration.signing_secret_encrypted = crypto.encrypt(secret)
    integration.save(
        update_fields=[
            "signing_secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    transaction.on_commit(lambda: forget_verifiers(integration.slug))
    audit_record(
        tenant=integration.tenant_id,
        action=AuditAction.INTEGRATION_SECRET_ROTATED,
        target=integration,
        actor=actor,
        data={"overlap_seconds": int(overlap.total_seconds())},
    )
    return integration, secret
