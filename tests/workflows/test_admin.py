"""Operators see definitions, versions, runs and approvals in the admin and can decide approvals."""

import pytest
from django.contrib.auth import get_user_model

from tests.workflows import graphs
from tests.workflows.conftest import open_approval_of, start, wait_result
from workflows.services import definitions


@pytest.fixture
def operator(client, acme):
    """Alice (owner of Acme, and an approver by role) as a superuser in the admin."""
    alice = get_user_model().objects.get(username="alice")
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


def test_admin_pages_load(operator, acme):
    definition = definitions.definition_create(tenant=acme, name="Shown", graph=graphs.PARALLEL)
    version = definition.latest_version
    for page in [
        "workflows/workflowdefinition/",
        f"workflows/workflowdefinition/{definition.pk}/change/",
        f"workflows/workflowversion/{version.pk}/change/",
        "workflows/workflowexecution/",
        "workflows/approvalrequest/",
        "workflows/record/",
        "workflows/emailtemplate/",
    ]:
        assert operator.get(f"/admin/{page}").status_code == 200, page


def test_admin_approve_action_goes_through_the_workflow(workers, operator, acme):
    execution = start(acme, graphs.approval_graph(approvers=("owner",)), {"key": "a"})
    approval = open_approval_of(execution)
    response = operator.post(
        "/admin/workflows/approvalrequest/", {"action": "approve", "_selected_action": [approval.pk]}
    )
    assert response.status_code == 302
    assert wait_result(execution).status == "completed"
    assert list(approval.decisions.values_list("user__username", "comment")) == [("alice", "via admin")]
