"""The workflow API: definitions, versions, execution, approvals, templates, tenant isolation."""

from tests.workflows import graphs
from tests.workflows.conftest import api_as, open_approval_of, start, wait_result, wait_until
from workflows import library
from workflows.models import ApprovalRequest, WorkflowDefinition, WorkflowExecution, WorkflowVersion
from workflows.services import definitions


def test_create_list_and_read_a_definition(workers, acme):
    api = api_as(acme, "erin")
    created = api.post("/api/v1/workflows", {"name": "Onboard", "definition": graphs.LINEAR_EMAIL}, format="json")
    assert created.status_code == 201
    assert created.json()["latest_version"] == 1
    assert created.json()["definition"]["nodes"][0]["position"] == {"x": 0, "y": 0}  # ReactFlow keys kept
    listed = api.get("/api/v1/workflows?name=onb").json()["results"]
    assert [d["slug"] for d in listed] == ["onboard"]


def test_invalid_definition_is_400_with_every_error_and_saves_nothing(acme):
    broken = graphs.graph(
        graphs.START,
        graphs.node("d", "DecisionNode", condition="input.x >"),
        graphs.node("w", "WaitNode", duration="soon"),
        graphs.node("mystery", "TeleportNode"),
        graphs.edge("start", "d", None),
        graphs.edge("d", "ghost", "true"),
    )
    response = api_as(acme, "erin").post("/api/v1/workflows", {"name": "Broken", "definition": broken}, format="json")
    assert response.status_code == 400
    errors = response.json()["definition"]
    where = {(e.get("node_id"), e.get("edge_id"), e.get("field")) for e in errors}
    assert ("d", None, "condition") in where
    assert ("w", None, "duration") in where
    assert any(node == "mystery" for node, _, _ in where)
    assert any(edge and "ghost" in edge for _, edge, _ in where)
    assert len(errors) >= 5
    assert not WorkflowDefinition.objects.exists()


def test_validate_endpoint_reports_without_saving(acme):
    response = api_as(acme, "vic").post(
        "/api/v1/workflows/validate", {"definition": {"nodes": [], "edges": []}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["valid"] is False
    assert response.json()["errors"]


def test_definition_change_creates_version_and_diff_and_restore(acme):
    api = api_as(acme, "erin")
    workflow_id = api.post("/api/v1/workflows", {"name": "V", "definition": graphs.LINEAR_EMAIL}, format="json").json()[
        "id"
    ]
    assert (
        api.patch(f"/api/v1/workflows/{workflow_id}", {"definition": graphs.PARALLEL}, format="json").status_code == 200
    )
    versions = api.get(f"/api/v1/workflows/{workflow_id}/versions").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]
    diff = api.get(f"/api/v1/workflows/{workflow_id}/diff?from=1&to=2").json()
    assert "mail" in diff["nodes_removed"] and {"left", "right"} <= set(diff["nodes_added"])
    restored = api.post(f"/api/v1/workflows/{workflow_id}/versions/1/restore").json()
    assert restored["latest_version"] == 3
    assert WorkflowVersion.objects.get(definition_id=workflow_id, number=3).graph == graphs.LINEAR_EMAIL


def test_execute_answers_202_and_run_completes(workers, acme):
    api = api_as(acme, "erin")
    workflow_id = api.post("/api/v1/workflows", {"name": "Run", "definition": graphs.PARALLEL}, format="json").json()[
        "id"
    ]
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"input": {"key": "k"}}, format="json")
    assert response.status_code == 202
    execution_id = response.json()["id"]
    assert response.json()["temporal"]["workflow_id"] == execution_id
    wait_until(lambda: api.get(f"/api/v1/executions/{execution_id}").json()["status"] == "completed", what="completion")
    detail = api.get(f"/api/v1/executions/{execution_id}").json()
    assert {s["node_id"]: s["status"] for s in detail["steps"]}["left"] == "completed"
    history = api.get(f"/api/v1/workflows/{workflow_id}/executions?status=completed").json()["results"]
    assert [e["id"] for e in history] == [execution_id]


def test_execute_with_non_object_input_is_400_naming_input(acme):
    definition = definitions.definition_create(tenant=acme, name="X", graph=graphs.PARALLEL)
    response = api_as(acme, "erin").post(f"/api/v1/workflows/{definition.pk}/execute", {"input": [1, 2]}, format="json")
    assert response.status_code == 400
    assert "input" in response.json()


def test_viewer_cannot_execute_or_edit(acme):
    definition = definitions.definition_create(tenant=acme, name="X", graph=graphs.PARALLEL)
    api = api_as(acme, "vic")
    assert api.post(f"/api/v1/workflows/{definition.pk}/execute", {}, format="json").status_code == 403
    assert api.patch(f"/api/v1/workflows/{definition.pk}", {"name": "Y"}, format="json").status_code == 403


def test_approval_inbox_filters_by_execution(workers, acme):
    first = start(acme, graphs.approval_graph(), {"key": "a"})
    second = start(acme, graphs.approval_graph(), {"key": "b"})
    approvals = [open_approval_of(execution) for execution in (first, second)]
    api = api_as(acme, "ada")
    assert len(api.get("/api/v1/approvals?status=pending").json()["results"]) == 2
    for execution, approval in zip((first, second), approvals, strict=True):
        inbox = api.get(f"/api/v1/approvals?status=pending&execution={execution.id}").json()["results"]
        assert [a["id"] for a in inbox] == [approval.pk]
    assert api.get("/api/v1/approvals?execution=execution-missing").json()["results"] == []


def test_approval_inbox_decide_403_and_409(workers, acme):
    execution = start(acme, graphs.approval_graph(), {"key": "a"})
    approval = wait_until(lambda: ApprovalRequest.objects.filter(execution=execution).first(), what="approval")
    inbox = api_as(acme, "ada").get("/api/v1/approvals?status=pending").json()["results"]
    assert [a["id"] for a in inbox] == [approval.pk]
    assert api_as(acme, "erin").get("/api/v1/approvals?status=pending").json()["results"] == []

    refused = api_as(acme, "adam").post(
        f"/api/v1/approvals/{approval.pk}/decide", {"decision": "approve"}, format="json"
    )
    assert refused.status_code == 403
    bad = api_as(acme, "ada").post(f"/api/v1/approvals/{approval.pk}/decide", {"decision": "maybe"}, format="json")
    assert bad.status_code == 400 and "decision" in bad.json()
    decided = api_as(acme, "ada").post(
        f"/api/v1/approvals/{approval.pk}/decide", {"decision": "approve", "comment": "ok"}, format="json"
    )
    assert decided.status_code == 200
    assert wait_result(execution).status == "completed"
    closed = api_as(acme, "ada").post(f"/api/v1/approvals/{approval.pk}/decide", {"decision": "reject"}, format="json")
    assert closed.status_code == 409


def test_templates_are_listed_and_instantiate_into_valid_definitions(acme):
    api = api_as(acme, "erin")
    slugs = {t["slug"] for t in api.get("/api/v1/workflow-templates").json()}
    assert slugs == {"customer-onboarding", "document-processing", "multi-step-approval"}
    for slug in slugs:
        response = api.post(f"/api/v1/workflow-templates/{slug}/instantiate", {}, format="json")
        assert response.status_code == 201, response.json()
    assert WorkflowDefinition.objects.for_tenant(acme).count() == 3


def test_multi_step_approval_template_runs_to_the_end(workers, acme):
    from tests.workflows.conftest import user
    from workflows.services import approvals

    api = api_as(acme, "erin")
    workflow_id = api.post("/api/v1/workflow-templates/multi-step-approval/instantiate", {}, format="json").json()["id"]
    execution_id = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"input": {}}, format="json").json()["id"]
    # erin started the run, so she is no manager approver of it although editors are.
    for node_id, approver in [("manager", "adam"), ("director", "adam"), ("finance", "alice")]:
        approval = wait_until(
            lambda n=node_id: ApprovalRequest.objects.filter(execution_id=execution_id, node_id=n).first(), what=node_id
        )
        assert "erin" not in approval.eligible_usernames
        approvals.approval_decide(approval=approval, user=user(approver), decision="approve")
    wait_until(lambda: api.get(f"/api/v1/executions/{execution_id}").json()["status"] == "completed", what="completion")


def test_multi_step_approval_rejected_at_director_ends_rejected(workers, acme):
    from tests.workflows.conftest import user
    from workflows.services import approvals

    definition = definitions.definition_create(tenant=acme, name="M", graph=library.MULTI_STEP_APPROVAL.definition)
    execution = start_from(definition, acme)
    manager = wait_until(
        lambda: ApprovalRequest.objects.filter(execution=execution, node_id="manager").first(), what="manager"
    )
    approvals.approval_decide(approval=manager, user=user("erin"), decision="approve")
    director = wait_until(
        lambda: ApprovalRequest.objects.filter(execution=execution, node_id="director").first(), what="director"
    )
    approvals.approval_decide(approval=director, user=user("adam"), decision="reject")
    execution = wait_result(execution)
    assert execution.status == "rejected"
    assert not ApprovalRequest.objects.filter(execution=execution, node_id="finance").exists()


def start_from(definition, tenant):
    from workflows.services import executions

    return executions.execution_start(tenant=tenant, definition=definition, input={})


def test_delete_archives_and_archived_cannot_run(acme):
    definition = definitions.definition_create(tenant=acme, name="Old", graph=graphs.PARALLEL)
    api = api_as(acme, "erin")
    assert api.delete(f"/api/v1/workflows/{definition.pk}").status_code == 204
    assert api.get("/api/v1/workflows").json()["results"] == []
    assert api.get(f"/api/v1/workflows/{definition.pk}").json()["status"] == "archived"
    assert api.post(f"/api/v1/workflows/{definition.pk}/execute", {}, format="json").status_code == 409


def test_every_endpoint_answers_404_for_another_tenants_objects(acme, globex):
    definition = definitions.definition_create(tenant=globex, name="Secret", graph=graphs.PARALLEL)
    execution = WorkflowExecution.objects.create(
        tenant=globex, definition=definition, version=definition.latest_version
    )
    approval = ApprovalRequest.objects.create(
        tenant=globex, execution=execution, node_id="ok", approvers=["alice"], eligible_usernames=["alice"]
    )
    api = api_as(acme, "alice")  # owner of Acme, and named in Globex's approval
    d, e, a = definition.pk, execution.pk, approval.pk
    requests = [
        ("get", f"/api/v1/workflows/{d}", None),
        ("patch", f"/api/v1/workflows/{d}", {"name": "Mine"}),
        ("delete", f"/api/v1/workflows/{d}", None),
        ("get", f"/api/v1/workflows/{d}/versions", None),
        ("post", f"/api/v1/workflows/{d}/versions/1/restore", None),
        ("get", f"/api/v1/workflows/{d}/diff?from=1&to=1", None),
        ("post", f"/api/v1/workflows/{d}/execute", {"input": {}}),
        ("get", f"/api/v1/workflows/{d}/executions", None),
        ("get", f"/api/v1/executions/{e}", None),
        ("post", f"/api/v1/executions/{e}/cancel", None),
        ("get", f"/api/v1/approvals/{a}", None),
        ("post", f"/api/v1/approvals/{a}/decide", {"decision": "approve"}),
    ]
    for method, path, body in requests:
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
    definition.refresh_from_db()
    assert (definition.name, definition.status) == ("Secret", "draft")
    assert api.get("/api/v1/executions").json()["results"] == []
    assert api.get("/api/v1/workflows").json()["results"] == []
