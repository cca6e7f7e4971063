"""Browser console pages: the dashboard, the workflow editor and the run monitor.

Each page is a Django template that mounts the React bundle (`static/console/`) with a small JSON
configuration; everything else the page shows comes from the API and the live streams, called
with the session cookie and the CSRF token, in the tenant resolved here.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from console import selectors
from mono.temporal.client import tenant_namespace
from tenants.permissions import Permission, role_allows

LOGIN_URL = "admin:login"


def _membership(request):
    membership = selectors.console_membership(user=request.user, tenant_slug=request.GET.get("tenant"))
    if membership is None:
        raise PermissionDenied("You are not a member of an active tenant.")
    return membership


def _page(request, membership, page: str, title: str, **config):
    tenant = membership.tenant
    config = {
        "page": page,
        "tenant": {"id": tenant.pk, "slug": tenant.slug, "name": tenant.name},
        "user": request.user.get_username(),
        "role": membership.role,
        "can": {permission.value: role_allows(membership.role, permission) for permission in Permission},
        "temporal": {"ui_url": settings.TEMPORAL_UI_URL, "namespace": tenant_namespace(tenant.pk)},
        "urls": {"dashboard": reverse("console:dashboard"), "new_workflow": reverse("console:workflow-new")},
        # Links between pages keep a tenant picked with `?tenant=`; API calls send it as `X-Tenant`.
        "tenant_param": request.GET.get("tenant") or None,
        **config,
    }
    return render(request, "console/page.html", {"title": title, "config": config, "page": page})


@login_required(login_url=LOGIN_URL)
@ensure_csrf_cookie
def dashboard(request):
    """Recent runs with live status, the viewer's pending approvals and counts by status."""
    membership = _membership(request)
    counts = selectors.execution_counts(tenant=membership.tenant)
    return _page(request, membership, "dashboard", "Dashboard", counts=counts)


@login_required(login_url=LOGIN_URL)
@ensure_csrf_cookie
def workflow_new(request):
    """The editor on an empty (unsaved) workflow."""
    membership = _membership(request)
    return _page(request, membership, "editor", "New workflow", workflow=None)


@login_required(login_url=LOGIN_URL)
@ensure_csrf_cookie
def workflow_edit(request, definition_id: int):
    """The editor on one of the tenant's workflows (404 for another tenant's, as for a missing one)."""
    membership = _membership(request)
    definition = selectors.definition_get(tenant=membership.tenant, definition_id=definition_id)
    return _page(request, membership, "editor", f"Edit {definition.name}", workflow=definition.pk)


@login_required(login_url=LOGIN_URL)
@ensure_csrf_cookie
def execution_monitor(request, execution_id: str):
    """One run's graph, live (404 for another tenant's run, as for a missing one)."""
    membership = _membership(request)
    execution = selectors.execution_get(tenant=membership.tenant, execution_id=execution_id)
    return _page(
        request,
        membership,
        "monitor",
        f"Run {execution.pk}",
        execution=execution.pk,
        workflow=execution.definition_id,
        workflow_name=execution.definition.name,
        version=execution.version.number,
        # The graph this run follows: the version it started on, not the definition's latest.
        graph=execution.version.graph,
    )
