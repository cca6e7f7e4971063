import time

import pytest
from rest_framework.test import APIClient

from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tenants import selectors as tenant_selectors
from tenants import services as tenant_services
from tenants.models import Role
from tests.factories import UserFactory
from workflows.models import WorkflowExecution
from workflows.services import definitions, executions


@pytest.fixture
def acme(transactional_db):
    """Tenant Acme (namespace provisioned) with alice (owner), adam (admin), erin (editor),
    ada (approver) and vic (viewer)."""
    tenant = tenant_services.tenant_create(name="Acme", slug="acme", owner=UserFactory(username="alice"))
    for username, role in [("adam", Role.ADMIN), ("erin", Role.EDITOR), ("ada", Role.APPROVER), ("vic", Role.VIEWER)]:
        tenant_services.membership_add(tenant=tenant, user=UserFactory(username=username), role=role)
    return tenant


@pytest.fixture
def globex(transactional_db):
    return tenant_services.tenant_create(name="Globex", slug="globex", owner=UserFactory(username="gina"))


@pytest.fixture
def workers(start_workers, acme):
    return start_workers(tenant_source=tenant_selectors.active_tenant_refs)


def user(username: str):
    return UserFactory(username=username)


def api_as(tenant, username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(user(username))
    client.credentials(HTTP_X_TENANT=tenant.slug)
    return client


def start(tenant, graph: dict, input: dict | None = None, name: str = "Test") -> WorkflowExecution:
    definition = definitions.definition_create(tenant=tenant, name=name, graph=graph)
    return executions.execution_start(tenant=tenant, definition=definition, input=input or {})


def wait_result(execution: WorkflowExecution, timeout: float = 30):
    """Wait for the run's workflow to finish; returns the execution row as the workflow left it."""

    async def result():
        client = await get_tenant_client(execution.tenant_id)
        return await client.get_workflow_handle(execution.id).result()

    sync.run(result, timeout=timeout)
    execution.refresh_from_db()
    return execution


def wait_until(predicate, timeout: float = 15, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def open_approval_of(execution, node_id: str | None = None):
    """The approval the run opened (at `node_id`), once it exists."""
    from workflows.models import ApprovalRequest

    approvals = ApprovalRequest.objects.for_tenant(execution.tenant_id).filter(execution=execution)
    if node_id:
        approvals = approvals.filter(node_id=node_id)
    return wait_until(approvals.first, what=f"approval {node_id or ''}")
