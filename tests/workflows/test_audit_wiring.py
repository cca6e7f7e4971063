"""Services write the audit log for the actions that matter (through the real API)."""

from audit.models import AuditEvent
from tests.workflows import graphs
from tests.workflows.conftest import api_as, open_approval_of, start, wait_result


def actions(tenant) -> list[tuple[str, str]]:
    return list(AuditEvent.objects.for_tenant(tenant).order_by("id").values_list("action", "actor_label"))


def test_member_and_key_changes_are_audited_without_secrets(acme):
    api = api_as(acme, "alice")
    member = api.post("/api/v1/members", {"username": "erin", "role": "viewer"}, format="json")
    member_id = api.get("/api/v1/members").json()["results"]
    erin = next(m for m in member_id if m["username"] == "erin")
    api.patch(f"/api/v1/members/{erin['id']}", {"role": "approver"}, format="json")
    created = api.post("/api/v1/api-keys", {"name": "ci"}, format="json").json()
    api.post(f"/api/v1/api-keys/{created['id']}/revoke")
    assert member.status_code == 201
    assert [a for a in actions(acme) if a[0].startswith(("member", "api_key"))][-3:] == [
        ("member.role_changed", "alice"), ("api_key.created", "alice"), ("api_key.revoked", "alice"),
    ]  # fmt: skip
    stored = " ".join(str(e.data) for e in AuditEvent.objects.for_tenant(acme))
    assert created["key"] not in stored


def test_workflow_lifecycle_and_runs_are_audited(workers, acme):
    api = api_as(acme, "alice")
    workflow_id = api.post(
        "/api/v1/workflows",
        {"name": "W", "definition": graphs.approval_graph(approvers=("owner",), allowStarter=True)},
        format="json",
    ).json()["id"]
    api.patch(f"/api/v1/workflows/{workflow_id}", {"status": "published"}, format="json")
    execution_id = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"input": {"key": "k"}}, format="json").json()[
        "id"
    ]
    from workflows.models import WorkflowExecution

    execution = WorkflowExecution.objects.get(pk=execution_id)
    approval = open_approval_of(execution)
    assert (
        api.post(f"/api/v1/approvals/{approval.pk}/decide", {"decision": "approve"}, format="json").status_code == 200
    )
    wait_result(execution)
    second = start(acme, graphs.approval_graph(), {"key": "x"})
    open_approval_of(second)
    api.post(f"/api/v1/executions/{second.pk}/cancel")
    api.delete(f"/api/v1/workflows/{workflow_id}")
    recorded = [action for action, _ in actions(acme)]
    for action in ["workflow.created", "workflow.updated", "workflow.published", "execution.started",
                   "approval.decided", "execution.cancelled", "workflow.archived"]:  # fmt: skip
        assert action in recorded, action
