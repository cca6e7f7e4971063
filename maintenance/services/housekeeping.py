"""Retention housekeeping: delete a tenant's history older than its `retention_days`."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from maintenance.retention import RETENTION, RetentionRule
from mono.temporal.schedules import UNCHANGED
from tenants.models import Tenant
from workflows.services.schedules import definition_schedules_sync

logger = logging.getLogger(__name__)

#: Rows deleted per statement: one huge tenant never holds long locks or a long transaction.
PURGE_BATCH_SIZE = 1000


def tenant_purge_expired(
    *,
    tenant_id: int,
    now: datetime | None = None,
    batch_size: int = PURGE_BATCH_SIZE,
    on_batch: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Delete the tenant's rows older than its retention, in batches; deleted rows per model label.

    Idempotent: a second run finds nothing older than the cutoff and deletes nothing. Each
    batch commits on its own, so an interrupted run keeps what it did and the next one resumes.
    """
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {}
    cutoff = (now or timezone.now()) - timedelta(days=tenant.retention_days)
    deleted: dict[str, int] = {}
    for rule in RETENTION:
        model = rule.model()
        if model is None:
            continue
        for label, count in _purge(rule, model, tenant_id, cutoff, batch_size, on_batch).items():
            deleted[label] = deleted.get(label, 0) + count
    if any(deleted.values()):
        logger.info("tenant %s: purged %s (older than %s)", tenant.slug, deleted, cutoff.isoformat())
    return deleted


def _purge(rule: RetentionRule, model, tenant_id: int, cutoff, batch_size: int, on_batch) -> dict[str, int]:
    deleted: dict[str, int] = {}
    expired = rule.aged(model.objects.for_tenant(tenant_id), cutoff).order_by("pk")
    while True:
        with transaction.atomic():
            ids = list(expired.values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            # Django's collector follows CASCADE (steps, events, approvals and their decisions).
            _, per_model = model.objects.for_tenant(tenant_id).filter(pk__in=ids).delete()
        for label, count in per_model.items():
            deleted[label] = deleted.get(label, 0) + count
        if on_batch is not None:
            on_batch()


def tenant_ids_page(*, after: int = 0, limit: int = 200, active_only: bool = False) -> list[int]:
    """Ids of the tenants after `after`, in order; retention applies to inactive tenants too."""
    tenants = Tenant.objects.filter(pk__gt=after)
    if active_only:
        tenants = tenants.filter(is_active=True)
    return list(tenants.order_by("pk").values_list("pk", flat=True)[:limit])


def tenant_schedules_repair(*, tenant_id: int) -> int:
    """Bring the tenant's workflow schedules in line with their definitions; how many changed.

    Repairs a schedule whose sync failed after its definition was saved (Temporal was down).
    Only definitions with a schedule trigger are touched; an inactive or missing tenant is left.
    """
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return 0
    outcomes = definition_schedules_sync(tenant=tenant)
    changed = [(schedule, outcome) for schedule, outcome in outcomes if outcome != UNCHANGED]
    if changed:
        logger.info("tenant %s: repaired schedules %s", tenant.slug, changed)
    return len(changed)
