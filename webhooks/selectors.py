"""Reads for inbound webhooks, always within one tenant."""

from datetime import datetime

from webhooks.models import Integration, WebhookEvent


def integration_list(*, tenant):
    return Integration.objects.for_tenant(tenant).select_related("workflow")


def event_list(
    *,
    tenant,
    integration: int | str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """The tenant's events, newest first, with the integration and the execution each started."""
    events = WebhookEvent.objects.for_tenant(tenant).select_related("integration", "execution")
    if integration:
        events = events.filter(integration_id=integration)
    if status:
        events = events.filter(status=status)
    if since:
        events = events.filter(received_at__gte=since)
    if until:
        events = events.filter(received_at__lt=until)
    return events
