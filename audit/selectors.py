"""Reads of the audit log (always tenant-scoped)."""

from datetime import datetime

from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from tenants.models import Tenant


def audit_event_list(
    *,
    tenant: Tenant | int,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The tenant's events, newest first, narrowed by whichever filters are given.

    `actor` matches a username (including actions through that user's API keys) or an actor
    label such as `system`, which also finds users deleted since. The time range is half-open,
    `since <= created_at < until`, so consecutive ranges never count an event twice.
    """
    events = AuditEvent.objects.for_tenant(tenant).select_related("actor")
    if action:
        events = events.filter(action=action)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    if actor:
        events = events.filter(Q(actor__username=actor) | Q(actor_label=actor))
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events
