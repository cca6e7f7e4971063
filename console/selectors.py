"""Reads for the console pages: the viewer's tenant and what the dashboard shows first."""

from django.db.models import Count
from django.http import Http404

from tenants.models import Membership
from tenants.selectors import membership_for_request
from webhooks import selectors as webhook_selectors
from workflows import selectors as workflow_selectors
from workflows.models import ExecutionStatus


def console_membership(*, user, tenant_slug: str | None):
    """The membership a page acts through, chosen as the API chooses it (`?tenant=` or the tenant
    picked in the switcher here play the `X-Tenant` header's part), or None."""
    membership = membership_for_request(user=user, tenant_slug=tenant_slug)
    if membership is None or not membership.tenant.is_active:
        return None
    return membership


def console_tenants(*, user) -> list[dict]:
    """The active tenants the user belongs to (the tenant switcher's choices), by name."""
    memberships = (
        Membership.objects.filter(user=user, tenant__is_active=True).select_related("tenant").order_by("tenant__name")
    )
    return [{"slug": m.tenant.slug, "name": m.tenant.name, "role": m.role} for m in memberships]


def definition_get(*, tenant, definition_id: int):
    """The tenant's definition (archived ones too), or 404 exactly as for a missing one."""
    definition = (
        workflow_selectors.definition_list(tenant=tenant, include_archived=True).filter(pk=definition_id).first()
    )
    if definition is None:
        raise Http404("No such workflow.")
    return definition


def execution_get(*, tenant, execution_id: str):
    """The tenant's run, or 404 exactly as for a missing one."""
    execution = workflow_selectors.execution_list(tenant=tenant).filter(pk=execution_id).first()
    if execution is None:
        raise Http404("No such execution.")
    return execution


def execution_counts(*, tenant) -> dict[str, int]:
    """How many of the tenant's runs are in each status (every status present, zeros included)."""
    counts = dict.fromkeys(ExecutionStatus.values, 0)
    rows = workflow_selectors.execution_list(tenant=tenant).order_by().values("status").annotate(n=Count("id"))
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def integration_get(*, tenant, integration_id: int):
    """The tenant's webhook integration, or 404 exactly as for a missing one."""
    integration = webhook_selectors.integration_list(tenant=tenant).filter(pk=integration_id).first()
    if integration is None:
        raise Http404("No such integration.")
    return integration
