"""Compiling definitions into plans, plan serialisation, dead-path helpers and definition diffs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflows.test_graph_validation import edge, graph, node, reactflow_export
from workflows.graph import GraphInvalid, Plan, PlanEdge, compile_definition, diff_definitions

LINEAR = graph(
    node("start", "start"),
    node("mail", "email", to="{{ input.email }}", subject="Hi", body="Hello {{ input.name }}"),
    node("end", "end"),
    edges=[edge("start", "mail", edge_id="e1"), edge("mail", "end", edge_id="e2")],
)

DECISION_THEN_JOIN = graph(
    node("start", "StartNode"),
    node("big", "DecisionNode", condition="input.amount > 100"),
    node("high", "EmailNode", template="high"),
    node("low", "EmailNode", template="low"),
    node("join", "UpdateRecordNode", operation="upsert", collection="orders", key="{{ input.id }}", fields={"a": 1}),
    node("end", "EndNode"),
    edges=[
        edge("start", "big", edge_id="s-big"),
        edge("big", "high", "yes", edge_id="big-high"),
        edge("big", "low", "no", edge_id="big-low"),
        edge("high", "join", edge_id="high-join"),
        edge("low", "join", edge_id="low-join"),
        edge("join", "end", edge_id="join-end"),
    ],
)

FAN_OUT_FAN_IN = graph(
    node("end", "EndNode"),
    node("right", "WebhookNode", url="https://example.com/{{ input.id }}"),
    node("left", "EmailNode", template="left"),
    node("start", "StartNode"),
    edges=[
        edge("start", "left", edge_id="s-l"),
        edge("start", "right", edge_id="s-r"),
        edge("left", "end", edge_id="l-e"),
        edge("right", "end", edge_id="r-e"),
    ],
)


def approval_plan(rejected_edge: bool) -> Plan:
    nodes = [node("start", "StartNode"), node("ok", "ApprovalNode", approvers=["ann"]), node("end", "EndNode")]
    edges = [edge("start", "ok", edge_id="s-ok"), edge("ok", "end", "approved", edge_id="ok-yes")]
    if rejected_edge:
        nodes.append(node("no", "EndNode", status="failed"))
        edges.append(edge("ok", "no", "rejected", edge_id="ok-no"))
    return compile_definition(graph(*nodes, edges=edges))


def test_a_linear_graph_compiles_to_a_chain_with_canonical_types():
    plan = compile_definition(LINEAR)
    assert plan.start == "start"
    assert plan.order == ("start", "mail", "end")
    assert [plan.nodes[n].type for n in plan.order] == ["StartNode", "EmailNode", "EndNode"]
    assert plan.nodes["mail"].incoming == ("e1",)
    assert plan.nodes["mail"].outgoing == (PlanEdge("e2", "mail", "end", None),)


def test_compiled_data_has_defaults_filled():
    plan = compile_definition(LINEAR)
    assert plan.nodes["start"].data == {"trigger": "manual"}
    assert plan.nodes["end"].data == {"status": "completed"}


def test_a_decision_with_a_join_orders_branches_before_the_join():
    plan = compile_definition(DECISION_THEN_JOIN)
    assert plan.order == ("start", "big", "high", "low", "join", "end")
    assert plan.nodes["join"].incoming == ("high-join", "low-join")


def test_yes_and_no_handles_compile_to_true_and_false():
    plan = compile_definition(DECISION_THEN_JOIN)
    assert [(e.target, e.handle) for e in plan.nodes["big"].outgoing] == [("high", "true"), ("low", "false")]


def test_edges_from_a_decision_follow_only_the_taken_branch():
    plan = compile_definition(DECISION_THEN_JOIN)
    assert [e.id for e in plan.edges_from("big", True)] == ["big-high"]
    assert [e.id for e in plan.edges_from("big", "false")] == ["big-low"]
    assert [e.id for e in plan.edges_from("big", "yes")] == ["big-high"]


def test_a_node_without_handles_follows_every_edge():
    plan = compile_definition(FAN_OUT_FAN_IN)
    assert [e.id for e in plan.edges_from("start")] == ["s-l", "s-r"]


def test_a_decision_needs_a_handle_to_choose_its_edges():
    plan = compile_definition(DECISION_THEN_JOIN)
    with pytest.raises(ValueError, match="true"):
        plan.edges_from("big")


def test_a_rejected_approval_without_a_rejected_edge_follows_nothing():
    plan = approval_plan(rejected_edge=False)
    assert plan.edges_from("ok", "rejected") == ()


def test_a_rejected_approval_follows_its_rejected_edge():
    assert [e.target for e in approval_plan(rejected_edge=True).edges_from("ok", "rejected")] == ["no"]


def test_parallel_fan_out_and_fan_in_is_ordered_by_dependencies_then_definition_order():
    plan = compile_definition(FAN_OUT_FAN_IN)
    assert plan.order == ("start", "right", "left", "end")
    assert plan.nodes["end"].incoming == ("l-e", "r-e")
    assert [e.target for e in plan.nodes["start"].outgoing] == ["left", "right"]


def test_the_reactflow_export_compiles_with_normalised_data():
    plan = compile_definition(reactflow_export())
    approve, pause, hook = plan.nodes["approve"].data, plan.nodes["pause"].data, plan.nodes["hook"].data
    assert (approve["quorum"], approve["onTimeout"], approve["timeout"], approve["timeout_seconds"]) == (
        "any",
        "reject",
        "P2D",
        172800,
    )
    assert (pause["duration"], pause["duration_seconds"]) == ("PT15M", 900)
    assert (hook["method"], hook["sign"]) == ("POST", True)
    assert plan.order[0] == "start"
    assert plan.order.index("notify") > max(plan.order.index("approve"), plan.order.index("pause"))


def test_an_approval_without_a_timeout_has_no_timeout_seconds():
    assert approval_plan(rejected_edge=False).nodes["ok"].data["timeout_seconds"] is None


def test_a_numeric_quorum_text_compiles_to_an_int():
    definition = graph(
        node("start", "StartNode"),
        node("ok", "ApprovalNode", approvers=["ann", "bob"], quorum="2"),
        node("end", "EndNode"),
        edges=[edge("start", "ok"), edge("ok", "end", "approved")],
    )
    assert compile_definition(definition).nodes["ok"].data["quorum"] == 2


def test_a_plan_survives_a_json_round_trip():
    plan = compile_definition(reactflow_export())
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_a_plan_from_an_unknown_format_is_refused():
    raw = compile_definition(LINEAR).to_dict()
    raw["format"] = 99
    with pytest.raises(ValueError, match="format"):
        Plan.from_dict(raw)


def test_an_invalid_definition_raises_graph_invalid_carrying_every_error():
    broken = graph(node("start", "StartNode"), node("x", "TeleportNode"))
    with pytest.raises(GraphInvalid) as caught:
        compile_definition(broken)
    assert [e.code for e in caught.value.errors] == [
        "unknown_node_type",
        "dead_end",
        "unreachable_node",
        "no_path_to_end",
    ]


def test_diff_lists_added_removed_and_changed_nodes_and_edges():
    new = json.loads(json.dumps(DECISION_THEN_JOIN))
    new["nodes"] = [n for n in new["nodes"] if n["id"] != "low"] + [node("audit", "EmailNode", template="audit")]
    new["nodes"][1]["data"]["condition"] = "input.amount > 500"
    new["edges"] = [e for e in new["edges"] if e["id"] not in ("big-low", "low-join")]
    new["edges"] += [edge("big", "audit", "false", edge_id="big-audit"), edge("audit", "join", edge_id="audit-join")]
    new["edges"][0]["target"] = "high"
    assert diff_definitions(DECISION_THEN_JOIN, new) == {
        "nodes_added": ["audit"],
        "nodes_removed": ["low"],
        "nodes_changed": ["big"],
        "edges_added": ["big-audit", "audit-join"],
        "edges_removed": ["big-low", "low-join"],
        "edges_changed": ["s-big"],
    }


def test_diff_ignores_layout_selection_and_alias_spelling():
    old = reactflow_export()
    new = json.loads(json.dumps(old))
    for item in new["nodes"]:
        item["position"] = {"x": 999, "y": 999}
        item["selected"] = not item["selected"]
        item["measured"] = {"width": 1, "height": 1}
    new["nodes"][0]["type"] = "start"
    new["edges"][1]["sourceHandle"] = "yes"
    new["edges"][1]["animated"] = False
    new["viewport"] = {"x": 0, "y": 0, "zoom": 2}
    assert not any(diff_definitions(old, new).values())


def test_diff_tolerates_malformed_definitions():
    assert diff_definitions(None, LINEAR)["nodes_added"] == ["start", "mail", "end"]
    assert diff_definitions({"nodes": "x", "edges": [1, {"id": "e", "source": []}]}, {})["edges_removed"] == ["e"]


def test_the_pure_modules_import_no_django():
    code = (
        "import sys, workflows.graph, mono.kernel.expressions, mono.kernel.templating; "
        "assert not any(m.startswith('django') for m in sys.modules), sorted(m for m in sys.modules if 'django' in m)"
    )
    project = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
