"""No approval outlives its run, whichever of the two commits first."""

import pytest

from tenants import services as tenant_services
from tests.factories import UserFactory
from tests.workflows import graphs
from workflows.models import ApprovalStatus, WorkflowExecution
from workflows.services import approvals, definitions, executions

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    tenant = tenant_services.tenant_create(name="Acme", slug="acme", owner=UserFactory(username="alice"))
    definition = definitions.definition_create(tenant=tenant, name="Approve", graph=graphs.approval_graph())
    return WorkflowExecution.objects.create(tenant=tenant, definition=definition, version=definition.latest_version)


def open_approval(execution):
    return approvals.approval_open(
        tenant_id=execution.tenant_id,
        execution_id=execution.id,
        node_id="approve",
        approvers=["alice"],
        quorum="any",
        on_timeout="reject",
        timeout_seconds=None,
    )


def finish(execution, status="cancelled"):
    executions.execution_finish(tenant_id=execution.tenant_id, execution_id=execution.id, status=status)


def test_finishing_a_run_cancels_its_pending_approval(run):
    approval = open_approval(run)
    assert approval.status == ApprovalStatus.PENDING
    finish(run)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.CANCELLED


def test_an_approval_opened_after_its_run_was_cancelled_is_closed_at_once(run):
    finish(run)  # the cancel won the race with the approval_open activity
    approval = open_approval(run)
    assert approval.status == ApprovalStatus.CANCELLED
    assert approval.decided_at is not None
