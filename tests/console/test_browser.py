"""The console in a real browser: headless Chromium against uvicorn, real workers and Temporal.

A user builds a workflow by drag and drop, sees validation on the graph, saves, runs it, watches
it on the monitor, approves from there and sees the run finish; restores a version after looking
at the diff; starts from a template; and edits with undo, keyboard delete and import.
"""

import json
import re

import pytest
from playwright.sync_api import expect

from tenants.selectors import active_tenant_refs
from tests.console.conftest import screenshot
from tests.workflows import conftest as workflow_fixtures
from tests.workflows import graphs
from tests.workflows.conftest import start, user
from workflows.models import ApprovalDecision, Record, WorkflowDefinition, WorkflowExecution
from workflows.services import definitions

pytestmark = pytest.mark.django_db(transaction=True)

acme = workflow_fixtures.acme
globex = workflow_fixtures.globex


def node(page, node_id: str):
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def drop(page, node_type: str, x: int, y: int) -> None:
    """Drag a palette item onto the canvas at (x, y) of the canvas."""
    page.locator(f'.palette-item[data-type="{node_type}"]').drag_to(
        page.locator(".react-flow__pane"), target_position={"x": x, "y": y}
    )


def connect(page, source: str, target: str, handle: str | None = None) -> None:
    """Drag from a node's source handle (the named branch, if any) to another node's target."""
    selector = ".react-flow__handle.source" + (f'[data-handleid="{handle}"]' if handle else "")
    start = node(page, source).locator(selector).bounding_box()
    end = node(page, target).locator(".react-flow__handle.target").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def edit(page, node_id: str, field: str, value: str) -> None:
    node(page, node_id).click()
    page.locator(f'.node-form[data-node-id="{node_id}"] [name="{field}"]').fill(value)


def expect_valid(page) -> None:
    expect(page.get_by_test_id("validity")).to_have_text("✓ valid")


def test_build_by_drag_and_drop_validate_save_run_watch_and_approve(page_as, acme, start_workers):
    start_workers(tenant_source=active_tenant_refs)
    page = page_as(user("alice"))
    page.goto("/workflows/new")
    page.get_by_label("Workflow name").fill("Expense approval")

    for node_type, x, y in [
        ("StartNode", 360, 40),
        ("ApprovalNode", 360, 180),
        ("EmailNode", 300, 320),
        ("UpdateRecordNode", 300, 460),
        ("EndNode", 360, 600),
    ]:
        drop(page, node_type, x, y)
    expect(page.locator(".react-flow__node")).to_have_count(5)
    edit(page, "approval-1", "approvers", "alice")
    # alice starts the run herself: the node must let its starter approve.
    page.locator('.node-form[data-node-id="approval-1"] [name="allowStarter"]').check()
    edit(page, "email-1", "subject", "Approved: {{ input.item }}")
    edit(page, "email-1", "body", "Your expense {{ input.item }} was approved.")
    edit(page, "updateRecord-1", "collection", "expenses")
    connect(page, "start-1", "approval-1")
    connect(page, "approval-1", "email-1", handle="approved")
    connect(page, "email-1", "updateRecord-1")

    # The End node is not connected yet: the validator says so on the node itself.
    end_errors = node(page, "end-1").locator(".wf-node-errors")
    expect(end_errors).to_contain_text("cannot be reached from Start")
    expect(page.get_by_test_id("validity")).to_contain_text("problem")
    connect(page, "updateRecord-1", "end-1")
    expect(end_errors).to_have_count(0)
    expect_valid(page)

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as version 1")
    expect(page).to_have_url(re.compile(r"/workflows/\d+/edit$"))
    definition = WorkflowDefinition.objects.for_tenant(acme).get(name="Expense approval")
    saved = definition.latest_version.graph
    assert {n["id"]: n["type"] for n in saved["nodes"]} == {
        "start-1": "StartNode",
        "approval-1": "ApprovalNode",
        "email-1": "EmailNode",
        "updateRecord-1": "UpdateRecordNode",
        "end-1": "EndNode",
    }
    assert {(e["source"], e["target"], e.get("sourceHandle")) for e in saved["edges"]} == {
        ("start-1", "approval-1", None),
        ("approval-1", "email-1", "approved"),
        ("email-1", "updateRecord-1", None),
        ("updateRecord-1", "end-1", None),
    }
    page.locator(".react-flow__pane").click(position={"x": 700, "y": 300})
    screenshot(page, "editor")

    page.get_by_role("tab", name="Run").click()
    page.locator("#run-input").fill(json.dumps({"id": "exp-7", "item": "train ticket", "email": "a@example.com"}))
    page.get_by_role("button", name="Run workflow").click()
    page.wait_for_url(re.compile(r"/executions/execution-[0-9a-f]+/$"))
    execution_id = page.url.rstrip("/").rsplit("/", 1)[1]

    # Live from the websocket: Start completes, the approval waits for alice.
    expect(node(page, "start-1").locator(".wf-node")).to_have_attribute("data-status", "completed")
    expect(node(page, "approval-1").locator(".wf-node")).to_have_attribute("data-status", "waiting")
    expect(page.get_by_test_id("run-status")).to_have_text("running")
    expect(page.get_by_test_id("approval-banner")).to_contain_text("approval-1")
    dashboard = page.context.new_page()
    dashboard.goto("/")
    run_row = dashboard.locator(f'tr[data-run="{execution_id}"]')
    expect(run_row.locator(".run-status")).to_have_text("running")
    assert f"/namespaces/mono-tenant-{acme.pk}/workflows/{execution_id}" in run_row.locator(
        "a", has_text="open"
    ).get_attribute("href")

    node(page, "approval-1").click()
    decide = page.get_by_test_id("decide")
    decide.get_by_label("Comment").fill("Fine by me")
    screenshot(page, "monitor-waiting")
    decide.get_by_role("button", name="Approve").click()

    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=30_000)
    for node_id in ("start-1", "approval-1", "email-1", "updateRecord-1", "end-1"):
        expect(node(page, node_id).locator(".wf-node")).to_have_attribute("data-status", "completed")
    expect(page.locator(".react-flow__edge.edge-taken")).to_have_count(4)
    node(page, "updateRecord-1").click()
    expect(page.locator(".step-details")).to_contain_text("completed")
    screenshot(page, "monitor")
    # The dashboard heard the run finish on the tenant stream, without a reload.
    expect(run_row.locator(".run-status")).to_have_text("completed", timeout=15_000)
    expect(dashboard.locator('.count-card[data-status="completed"] .count')).to_have_text("1")
    screenshot(dashboard, "dashboard")

    execution = WorkflowExecution.objects.for_tenant(acme).get(pk=execution_id)
    assert execution.status == "completed"
    decision = ApprovalDecision.objects.get(approval__execution=execution)
    assert (decision.user.username, decision.decision, decision.comment) == ("alice", "approve", "Fine by me")
    assert Record.objects.for_tenant(acme).filter(collection="expenses", key="exp-7").exists()
    assert page.console_errors == []


def test_monitor_shows_the_branch_taken_and_the_one_skipped(page_as, acme, start_workers):
    graph = graphs.graph(
        graphs.START,
        graphs.node("check", "DecisionNode", condition="input.amount > 100"),
        graphs.record("big"),
        graphs.record("small"),
        graphs.END,
        graphs.edge("start", "check"),
        graphs.edge("check", "big", "true"),
        graphs.edge("check", "small", "false"),
        graphs.edge("big", "end"),
        graphs.edge("small", "end"),
    )
    execution = start(acme, graph, {"amount": 500, "key": "k1"})
    page = page_as(user("vic"))
    page.goto(f"/executions/{execution.pk}/")
    expect(page.get_by_test_id("run-status")).to_have_text("pending")

    start_workers(tenant_source=active_tenant_refs)

    expect(page.get_by_test_id("run-status")).to_have_text("completed", timeout=30_000)
    for node_id, status in [("start", "completed"), ("check", "completed"), ("big", "completed"), ("end", "completed")]:
        expect(node(page, node_id).locator(".wf-node")).to_have_attribute("data-status", status)
    expect(node(page, "small").locator(".wf-node")).to_have_attribute("data-status", "skipped")
    taken = page.locator(".react-flow__edge.edge-taken")
    skipped = page.locator(".react-flow__edge.edge-skipped")
    expect(taken).to_have_count(3)
    expect(skipped).to_have_count(2)
    assert {skipped.nth(i).get_attribute("data-id") for i in range(2)} == {
        "reactflow__edge-checkfalse-small",
        "reactflow__edge-small-end",
    }
    # A viewer watches but has nothing to decide or cancel.
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)


def test_version_diff_highlights_changes_and_restore_makes_a_new_version(page_as, acme):
    v1 = graphs.graph(
        graphs.START, graphs.record("save"), graphs.END, graphs.edge("start", "save"), graphs.edge("save", "end")
    )
    definition = definitions.definition_create(tenant=acme, name="Records", graph=v1)
    v2 = graphs.graph(
        graphs.START,
        graphs.node("pause", "WaitNode", duration="PT1M"),
        graphs.END,
        graphs.edge("start", "pause"),
        graphs.edge("pause", "end"),
    )
    definitions.definition_update(definition=definition, graph=v2)
    page = page_as(user("alice"))
    page.goto(f"/workflows/{definition.pk}/edit")
    expect(node(page, "pause")).to_be_visible()

    page.get_by_role("tab", name="Versions").click()
    page.locator('[data-version="1"]').get_by_role("button", name="Compare").click()
    expect(page.get_by_test_id("diff-banner")).to_contain_text("Comparing v1 → v2: 1 added, 1 removed")
    expect(node(page, "pause").locator(".wf-node")).to_have_class(re.compile("diff-added"))
    expect(node(page, "save").locator(".wf-node")).to_have_class(re.compile("diff-removed"))
    expect(node(page, "start").locator(".wf-node")).not_to_have_class(re.compile("diff-"))
    screenshot(page, "editor-diff")

    page.locator('[data-version="1"]').get_by_role("button", name="Restore").click()
    expect(page.get_by_role("status")).to_contain_text("Restored version 1 as version 3")
    expect(page.get_by_test_id("diff-banner")).to_have_count(0)
    expect(node(page, "save")).to_be_visible()
    expect(node(page, "pause")).to_have_count(0)
    expect(page.locator("[data-version]")).to_have_count(3)
    definition.refresh_from_db()
    latest = definition.latest_version
    assert latest.number == 3
    assert [n["id"] for n in latest.graph["nodes"]] == ["start", "save", "end"]


def test_template_instantiation_opens_the_new_workflow_in_the_editor(page_as, acme):
    page = page_as(user("alice"))
    page.goto("/workflows/new")

    page.locator('[data-template="customer-onboarding"]').get_by_role("button", name="Use this template").click()

    page.wait_for_url(re.compile(r"/workflows/\d+/edit$"))
    definition = WorkflowDefinition.objects.for_tenant(acme).get(name="Customer onboarding")
    assert page.url.endswith(f"/workflows/{definition.pk}/edit")
    expect(page.locator(".react-flow__node")).to_have_count(len(definition.latest_version.graph["nodes"]))
    expect(page.get_by_label("Workflow name")).to_have_value("Customer onboarding")
    expect_valid(page)


def test_keyboard_delete_undo_redo_import_with_auto_layout_and_export(page_as, acme, tmp_path):
    page = page_as(user("erin"))
    page.goto("/workflows/new")
    drop(page, "StartNode", 300, 80)
    drop(page, "DecisionNode", 300, 250)
    expect(page.locator(".react-flow__node")).to_have_count(2)

    node(page, "decision-1").click()
    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__node")).to_have_count(1)
    page.keyboard.press("Control+z")
    expect(node(page, "decision-1")).to_be_visible()
    page.keyboard.press("Control+Shift+z")
    expect(node(page, "decision-1")).to_have_count(0)

    # A graph from elsewhere, without positions: imported and laid out top to bottom.
    document = graphs.graph(
        {"id": "s", "type": "start", "data": {}},
        {"id": "d", "type": "decision", "data": {"condition": "input.n > 1"}},
        {"id": "yes", "type": "end", "data": {}},
        {"id": "no", "type": "end", "data": {"status": "failed"}},
        graphs.edge("s", "d"),
        graphs.edge("d", "yes", "true"),
        graphs.edge("d", "no", "false"),
    )
    path = tmp_path / "imported.json"
    path.write_text(json.dumps(document))
    page.get_by_test_id("import-file").set_input_files(str(path))
    expect(page.locator(".react-flow__node")).to_have_count(4)
    expect_valid(page)
    tops = {i: node(page, i).bounding_box()["y"] for i in ("s", "d", "yes", "no")}
    assert tops["s"] < tops["d"] < tops["yes"]
    assert tops["yes"] == pytest.approx(tops["no"], abs=2)
    assert node(page, "yes").bounding_box()["x"] != node(page, "no").bounding_box()["x"]

    with page.expect_download() as download:
        page.get_by_role("button", name="Export").click()
    exported = json.loads(download.value.path().read_text())
    assert [n["id"] for n in exported["nodes"]] == ["s", "d", "yes", "no"]
    assert all(isinstance(n["position"]["x"], int | float) for n in exported["nodes"])
    assert {(e["source"], e["target"], e.get("sourceHandle")) for e in exported["edges"]} == {
        ("s", "d", None),
        ("d", "yes", "true"),
        ("d", "no", "false"),
    }
    assert set(exported["viewport"]) == {"x", "y", "zoom"}


def test_another_tenants_run_page_is_not_found_in_the_browser(page_as, acme, globex):
    graph = graphs.graph(graphs.START, graphs.END, graphs.edge("start", "end"))
    foreign = definitions.definition_create(tenant=globex, name="Secret", graph=graph)
    page = page_as(user("alice"))

    response = page.goto(f"/workflows/{foreign.pk}/edit")

    assert response.status == 404
    assert "Secret" not in page.content()
