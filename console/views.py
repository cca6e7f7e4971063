"""Browser console pages: the dashboard, the workflow editor and the run monitor.

Each page is a Django template that mounts the React bundle (`static/console/`) with a small JSON
configuration; everything else the page shows comes from the API and the live streams, called
with the session cookie and the CSRF token, in the tenant resolved here.
"""

import functools

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from console import selectors
from console.account import TENANT_SESSION_KEY
from mono.temporal.client import tenant_namespace
from tenants.permissions import Permission, role_allows
from workflows.graph.catalogue import node_catalogue


def console_page(view):
    """A console page: signed in (the console's own login), CSRF cookie set, and acting in one
    active tenant of the user's, passed to the view as `membership`. A tenant named in `?tenant=`
    wins over the one picked in the switcher; a user with no active tenant gets a page that says
    so (not an error)."""

    @functools.wraps(view)
    @login_required
    @ensure_csrf_cookie
    def page(request, *args, **kwargs):
        named = request.GET.get("tenant")
        if named:
            membership = selectors.console_membership(user=request.user, tenant_slug=named)
            if membership is None:
                return render(request, "console/account/no_tenant.html", {"unknown": named}, status=403)
        else:
            picked = request.session.get(TENANT_SESSION_KEY)
            membership = picked and selectors.console_membership(user=request.user, tenant_slug=picked)
            if not membership:
                request.session.pop(TENANT_SESSION_KEY, None)  # left or deactivated since it was picked
                membership = selectors.console_membership(user=request.user, tenant_slug=None)
            if membership is None:
                return render(request, "console/account/no_tenant.html", {})
        return view(request, membership, *args, **kwargs)

    return page


def _page(request, membership, page: str, title: str, **config):
    tenant = membership.tenant
    config = {
        "page": page,
        "tenant": {"id": tenant.pk, "slug": tenant.slug, "name": tenant.name},
        "user": request.user.get_username(),
        "role": membership.role,
        "can": {permission.value: role_allows(membership.role, permission) for permission in Permission},
        "temporal": {"ui_url": settings.TEMPORAL_UI_URL, "namespace": tenant_namespace(tenant.pk)},
        "tenants": selectors.console_tenants(user=request.user),
        "urls": {
            "dashboard": reverse("console:dashboard"),
            "new_workflow": reverse("console:workflow-new"),
            "inbox": reverse("console:inbox"),
            "runs": reverse("console:runs"),
            "usage": reverse("console:usage"),
            "webhooks": reverse("console:webhooks"),
            "settings": reverse("console:settings"),
            "media": reverse("console:media"),
            "workflows": reverse("console:workflows"),
            "logout": reverse("console:logout"),
            "password_change": reverse("console:password-change"),
            "tenant_switch": reverse("console:tenant-switch"),
        },
        # Links between pages keep a tenant picked with `?tenant=`; API calls send it as `X-Tenant`.
        "tenant_param": request.GET.get("tenant") or None,
        **config,
    }
    return render(request, "console/page.html", {"title": title, "config": config, "page": page})


@console_page
def dashboard(request, membership):
    """Recent runs with live status, the viewer's pending approvals and counts by status."""
    counts = selectors.execution_counts(tenant=membership.tenant)
    return _page(request, membership, "dashboard", "Dashboard", counts=counts)


@console_page
def workflow_new(request, membership):
    """The editor on an empty (unsaved) workflow."""
    return _page(request, membership, "editor", "New workflow", workflow=None, node_types=node_catalogue())


@console_page
def workflow_edit(request, membership, definition_id: int):
    """The editor on one of the tenant's workflows (404 for another tenant's, as for a missing one)."""
    definition = selectors.definition_get(tenant=membership.tenant, definition_id=definition_id)
    return _page(
        request, membership, "editor", f"Edit {definition.name}", workflow=definition.pk, node_types=node_catalogue()
    )


@console_page
def execution_monitor(request, membership, execution_id: str):
    """One run's graph, live (404 for another tenant's run, as for a missing one)."""
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
        node_types=node_catalogue(),
    )


@console_page
def inbox(request, membership):
    """Approvals waiting for the viewer and those they decided, with comments."""
    return _page(request, membership, "inbox", "Approvals")


@console_page
def runs(request, membership):
    """The tenant's runs: filters, cursor pages, bulk cancel, re-run."""
    return _page(request, membership, "runs", "Runs")


@console_page
def workflows(request, membership):
    """The tenant's workflows: search by name, status and tag."""
    return _page(request, membership, "workflows", "Workflows")


@console_page
def workflow_detail(request, membership, definition_id: int):
    """One workflow: versions, runs, schedule (404 for another tenant's, as for a missing one)."""
    definition = selectors.definition_get(tenant=membership.tenant, definition_id=definition_id)
    return _page(
        request, membership, "workflow", definition.name, workflow=definition.pk, workflow_name=definition.name
    )


@console_page
def usage(request, membership):
    """Usage and cost: runs per day, durations, LLM tokens and cost, budgets, top workflows by cost."""
    return _page(request, membership, "usage", "Usage and cost")


@console_page
def media_page(request, membership):
    """Uploaded files: search, each asset's thumbnail or poster, a video's web variant playing."""
    return _page(request, membership, "media", "Media")


@console_page
def webhooks(request, membership):
    """Integrations: create, rotate the secret (shown once), copy the endpoint URL."""
    return _page(request, membership, "webhooks", "Webhooks", integration=None)


@console_page
def webhook_detail(request, membership, integration_id: int):
    """One integration and its delivery log (404 for another tenant's, as for a missing one)."""
    integration = selectors.integration_get(tenant=membership.tenant, integration_id=integration_id)
    return _page(request, membership, "webhooks", f"Webhook {integration.name}", integration=integration.pk)


@console_page
def tenant_settings(request, membership):
    """Members and roles, API keys, retention, provider credentials, LLM limits (owners and admins)."""
    if not role_allows(membership.role, Permission.MANAGE):
        raise PermissionDenied("Only owners and admins manage the tenant's settings.")
    return _page(request, membership, "settings", "Settings")
