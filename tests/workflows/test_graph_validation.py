"""Validation of ReactFlow definitions: every problem reported at once, never an exception."""

import copy
import itertools

import pytest

from workflows.graph import validate_definition
from workflows.graph.durations import DurationError, duration_seconds, parse_datetime


def reactflow_export() -> dict:
    """What the editor's `toObject()` sends, ReactFlow's own keys and all."""

    def node(node_id: str, node_type: str, x: int, y: int, selected: bool = False, **data) -> dict:
        return {
            "id": node_id,
            "type": node_type,
            "position": {"x": x, "y": y},
            "positionAbsolute": {"x": x, "y": y},
            "data": {"label": node_id.title(), **data},
            "width": 180,
            "height": 64,
            "measured": {"width": 180, "height": 64},
            "selected": selected,
            "dragging": False,
            "style": {"border": "1px solid #ccc"},
            "className": "mono-node",
        }

    def edge(source: str, target: str, handle: str | None = None) -> dict:
        return {
            "id": f"reactflow__edge-{source}{handle or ''}-{target}",
            "source": source,
            "target": target,
            "sourceHandle": handle,
            "targetHandle": None,
            "type": "smoothstep",
            "animated": True,
            "label": handle or "",
            "markerEnd": {"type": "arrowclosed", "width": 20, "height": 20},
            "selected": False,
        }

    return {
        "nodes": [
            node("start", "StartNode", 0, 0, trigger="webhook"),
            node("big", "DecisionNode", 0, 120, condition="input.amount > 1000"),
            node(
                "approve",
                "ApprovalNode",
                -200,
                240,
                selected=True,
                approvers=["finance-lead", "admin"],
                quorum="any",
                timeout="P2D",
                onTimeout="reject",
                message="Approve {{ input.amount }} for {{ input.customer }}?",
            ),
            node("pause", "WaitNode", 200, 240, duration="PT15M"),
            node(
                "notify",
                "EmailNode",
                0,
                360,
                to="{{ input.email }}",
                subject="Order {{ input.order_id }}",
                body="Hello {{ input.customer }},\nyour order is on its way.",
            ),
            node(
                "save",
                "UpdateRecordNode",
                0,
                480,
                operation="upsert",
                collection="orders",
                key="{{ input.order_id }}",
                fields={"status": "processed", "amount": "{{ input.amount }}", "tags": ["{{ input.customer }}"]},
            ),
            node(
                "hook",
                "WebhookNode",
                0,
                600,
                url="https://erp.example.com/orders/{{ input.order_id }}",
                method="post",
                headers={"X-Order": "{{ input.order_id }}"},
                body={"order": "{{ input.order_id }}", "approved": True},
                sign=True,
            ),
            node("done", "EndNode", 0, 720, status="completed", output="{{ steps.save }}"),
            node("refused", "EndNode", -400, 360, status="failed"),
        ],
        "edges": [
            edge("start", "big"),
            edge("big", "approve", "true"),
            edge("big", "pause", "false"),
            edge("approve", "notify", "approved"),
            edge("approve", "refused", "rejected"),
            edge("pause", "notify"),
            edge("notify", "save"),
            edge("save", "hook"),
            edge("hook", "done"),
        ],
        "viewport": {"x": 12.5, "y": -40, "zoom": 0.85},
    }


def graph(*nodes: dict, edges: list[dict] | None = None) -> dict:
    return {"nodes": list(nodes), "edges": edges or [], "viewport": {"x": 0, "y": 0, "zoom": 1}}


def node(node_id: str, node_type: str, **data) -> dict:
    return {"id": node_id, "type": node_type, "data": data}


def edge(source: str, target: str, handle: str | None = None, edge_id: str | None = None) -> dict:
    return {
        "id": edge_id or f"{source}-{handle or ''}-{target}",
        "source": source,
        "target": target,
        "sourceHandle": handle,
    }


def through(*middle: dict) -> dict:
    """start → each middle node in turn → end."""
    ids = ["start", *(item["id"] for item in middle), "end"]
    nodes = [node("start", "StartNode"), *middle, node("end", "EndNode")]
    return graph(*nodes, edges=[edge(a, b) for a, b in itertools.pairwise(ids)])


def record(**data) -> dict:
    return node(
        "save", "UpdateRecordNode", **{"operation": "update", "collection": "o", "key": "k", "fields": {"a": 1}, **data}
    )


def codes(definition: object) -> list[str]:
    return [error.code for error in validate_definition(definition)]


def only_error(definition: object):
    errors = validate_definition(definition)
    assert len(errors) == 1, [error.to_dict() for error in errors]
    return errors[0]


def test_reactflow_export_with_editor_keys_is_valid():
    assert validate_definition(reactflow_export()) == []


def test_lowercase_aliases_are_accepted():
    definition = reactflow_export()
    aliases = {"StartNode": "start", "DecisionNode": "decision", "ApprovalNode": "approval", "WaitNode": "wait"}
    aliases |= {"EmailNode": "email", "UpdateRecordNode": "updateRecord", "WebhookNode": "webhook", "EndNode": "end"}
    for item in definition["nodes"]:
        item["type"] = aliases[item["type"]]
    assert validate_definition(definition) == []


def test_yes_and_no_handles_are_accepted_on_a_decision():
    definition = reactflow_export()
    for item in definition["edges"]:
        item["sourceHandle"] = {"true": "yes", "false": "no"}.get(item["sourceHandle"], item["sourceHandle"])
    assert validate_definition(definition) == []


@pytest.mark.parametrize("definition", [None, [], "nodes", 42, True])
def test_a_definition_that_is_not_an_object_is_one_error(definition):
    assert only_error(definition).code == "invalid_definition"


def test_nodes_and_edges_must_be_lists():
    errors = validate_definition({"nodes": {"a": 1}, "edges": "none"})
    assert [(e.code, e.field) for e in errors[:2]] == [("invalid_nodes", "nodes"), ("invalid_edges", "edges")]


def test_a_node_that_is_not_an_object_or_has_no_id_is_reported_by_position():
    errors = validate_definition(graph("oops", {"type": "StartNode"}))
    assert [(e.code, e.field) for e in errors[:2]] == [("invalid_node", "nodes[0]"), ("invalid_node", "nodes[1].id")]


def test_duplicate_node_ids_are_reported():
    definition = through(node("mail", "EmailNode", template="welcome"))
    definition["nodes"].append(node("mail", "EndNode"))
    error = only_error(definition)
    assert (error.code, error.node_id, error.field) == ("duplicate_node_id", "mail", "id")


def test_a_definition_without_a_start_node_is_reported():
    assert "missing_start" in codes(graph(node("end", "EndNode")))


def test_every_start_node_is_reported_when_there_are_several():
    definition = graph(node("a", "StartNode"), node("b", "StartNode"), node("end", "EndNode"))
    definition["edges"] = [edge("a", "end"), edge("b", "end")]
    assert [(e.code, e.node_id) for e in validate_definition(definition)] == [
        ("multiple_starts", "a"),
        ("multiple_starts", "b"),
    ]


def test_an_unknown_node_type_names_the_node_and_field():
    error = only_error(through(node("x", "TeleportNode")))
    assert (error.code, error.node_id, error.field) == ("unknown_node_type", "x", "type")


def test_node_data_that_is_not_an_object_is_reported():
    definition = through(node("mail", "EmailNode"))
    definition["nodes"][1]["data"] = ["to", "subject"]
    assert ("invalid_data", "data") in [(e.code, e.field) for e in validate_definition(definition)]


@pytest.mark.parametrize(
    ("middle", "field"),
    [
        (node("ok", "ApprovalNode"), "approvers"),
        (node("pause", "WaitNode"), "duration"),
        (node("mail", "EmailNode", subject="Hi", body="Hello"), "to"),
        (node("save", "UpdateRecordNode", operation="update", key="k", fields={"a": 1}), "collection"),
        (node("save", "UpdateRecordNode", operation="update", collection="orders", fields={"a": 1}), "key"),
        (node("save", "UpdateRecordNode", operation="create", collection="orders", key="k"), "fields"),
        (node("hook", "WebhookNode", method="GET"), "url"),
        (node("save", "UpdateRecordNode", collection="orders", key="k", fields={"a": 1}), "operation"),
    ],
)
def test_missing_required_data_names_the_field(middle, field):
    definition = through(middle)
    if middle["type"] == "ApprovalNode":
        definition["edges"][1]["sourceHandle"] = "approved"
    error = only_error(definition)
    assert (error.code, error.node_id, error.field) == ("missing_field", middle["id"], field)


def test_a_decision_without_a_condition_is_reported():
    definition = decision_graph(condition="")
    assert [(e.code, e.field) for e in validate_definition(definition)] == [("missing_field", "condition")]


def test_a_delete_needs_no_fields():
    middle = node("drop", "UpdateRecordNode", operation="delete", collection="orders", key="{{ input.id }}")
    assert validate_definition(through(middle)) == []


def test_an_email_from_a_stored_template_needs_no_subject_or_body():
    assert validate_definition(through(node("mail", "EmailNode", template="welcome"))) == []


@pytest.mark.parametrize(
    ("middle", "field"),
    [
        (record(operation="merge"), "operation"),
        (record(collection="Not A Slug"), "collection"),
        (record(fields=[1]), "fields"),
        (node("hook", "WebhookNode", url="https://x.test", method="TRACE"), "method"),
        (node("hook", "WebhookNode", url="https://x.test", headers={"X-A": 1}), "headers"),
        (node("hook", "WebhookNode", url="https://x.test", sign="yes"), "sign"),
        (node("hook", "WebhookNode", url="https://x.test", body=12), "body"),
    ],
)
def test_invalid_data_values_name_the_field(middle, field):
    errors = validate_definition(through(middle))
    assert [(e.code, e.node_id, e.field) for e in errors] == [("invalid_field", middle["id"], field)]


def test_an_invalid_start_trigger_is_reported():
    definition = through()
    definition["nodes"][0]["data"] = {"trigger": "cron"}
    error = only_error(definition)
    assert (error.code, error.node_id, error.field) == ("invalid_field", "start", "trigger")


def test_an_invalid_end_status_is_reported():
    definition = through()
    definition["nodes"][1]["data"] = {"status": "exploded"}
    error = only_error(definition)
    assert (error.code, error.node_id, error.field) == ("invalid_field", "end", "status")


def approval_graph(**data) -> dict:
    definition = through(node("ok", "ApprovalNode", **{"approvers": ["ann", "bob"], **data}))
    definition["edges"][1]["sourceHandle"] = "approved"
    return definition


def test_a_numeric_quorum_above_the_number_of_named_approvers_is_reported():
    error = only_error(approval_graph(quorum=3))
    assert (error.code, error.node_id, error.field) == ("invalid_field", "ok", "quorum")


def test_a_numeric_quorum_with_a_role_is_not_bounded_by_the_list_length():
    assert validate_definition(approval_graph(approvers=["approver"], quorum=3)) == []


@pytest.mark.parametrize("quorum", [0, -1, "most", 1.5, True])
def test_a_quorum_that_is_not_any_all_or_a_positive_count_is_reported(quorum):
    assert only_error(approval_graph(quorum=quorum)).field == "quorum"


def test_approvers_must_be_a_list_of_names():
    assert only_error(approval_graph(approvers="ann")).field == "approvers"


def test_an_invalid_on_timeout_is_reported():
    assert only_error(approval_graph(timeout="P1D", onTimeout="escalate")).field == "onTimeout"


@pytest.mark.parametrize("value", ["yes", 1, "true"])
def test_allow_starter_must_be_true_or_false(value):
    error = only_error(approval_graph(allowStarter=value))
    assert (error.code, error.field) == ("invalid_field", "allowStarter")


@pytest.mark.parametrize("text", ["P1M", "P1Y", "2 days", "PT", "P0D", "P99999D"])
def test_a_bad_approval_timeout_is_an_invalid_duration(text):
    error = only_error(approval_graph(timeout=text))
    assert (error.code, error.field) == ("invalid_duration", "timeout")


def test_a_bad_wait_duration_is_an_invalid_duration():
    error = only_error(through(node("pause", "WaitNode", duration="soon")))
    assert (error.code, error.node_id, error.field) == ("invalid_duration", "pause", "duration")


def test_a_wait_with_both_duration_and_until_is_reported():
    error = only_error(through(node("pause", "WaitNode", duration="PT1H", until="2030-01-01T00:00:00Z")))
    assert (error.code, error.field) == ("conflicting_fields", "until")


@pytest.mark.parametrize("until", ["2030-01-01T09:00:00", "next tuesday"])
def test_a_wait_until_without_offset_or_unparseable_is_an_invalid_datetime(until):
    error = only_error(through(node("pause", "WaitNode", until=until)))
    assert (error.code, error.field) == ("invalid_datetime", "until")


def test_a_wait_until_template_is_checked_as_a_template():
    assert validate_definition(through(node("pause", "WaitNode", until="{{ input.deadline }}"))) == []
    error = only_error(through(node("pause", "WaitNode", until="{{ input.deadline ")))
    assert (error.code, error.field) == ("invalid_template", "until")


def decision_graph(condition: str = "input.amount > 100", true: str = "true", false: str | None = "false") -> dict:
    nodes = [node("start", "StartNode"), node("d", "DecisionNode", condition=condition)]
    nodes += [node("yes", "EndNode"), node("no", "EndNode", status="failed")]
    edges = [edge("start", "d"), edge("d", "yes", true)]
    if false:
        edges.append(edge("d", "no", false))
    else:
        nodes.pop()
    return graph(*nodes, edges=edges)


def test_a_condition_that_does_not_compile_is_an_invalid_expression():
    error = only_error(decision_graph(condition="input.amount >"))
    assert (error.code, error.node_id, error.field) == ("invalid_expression", "d", "condition")
    assert "column" in error.message


def test_a_condition_naming_an_unknown_variable_is_an_invalid_expression():
    assert only_error(decision_graph(condition="amount > 100")).code == "invalid_expression"


def test_a_template_that_does_not_compile_names_its_field():
    middle = node("mail", "EmailNode", to="{{ input.email }}", subject="Hi {{ input.name", body="x")
    error = only_error(through(middle))
    assert (error.code, error.node_id, error.field) == ("invalid_template", "mail", "subject")


def test_a_broken_template_deep_inside_an_object_names_its_path():
    middle = node("hook", "WebhookNode", url="https://x.test", body={"items": [{"name": "{% if %}"}]})
    error = only_error(through(middle))
    assert (error.code, error.field) == ("invalid_template", "body.items[0].name")


def test_a_broken_record_field_template_names_the_field():
    middle = node("save", "UpdateRecordNode", operation="upsert", collection="o", key="k", fields={"total": "{{ }}"})
    assert only_error(through(middle)).field == "fields.total"


def test_an_edge_to_or_from_an_unknown_node_names_the_edge_and_end():
    definition = through()
    definition["edges"].append(edge("ghost", "end", edge_id="e-ghost"))
    definition["edges"].append(edge("start", "nowhere", edge_id="e-nowhere"))
    errors = validate_definition(definition)
    assert [(e.code, e.edge_id, e.field) for e in errors] == [
        ("unknown_node", "e-ghost", "source"),
        ("unknown_node", "e-nowhere", "target"),
    ]


def test_an_edge_without_an_id_is_reported_by_position():
    definition = through()
    definition["edges"].append({"source": "start", "target": "end"})
    assert [(e.code, e.field) for e in validate_definition(definition)] == [("invalid_edge", "edges[1].id")]


def test_duplicate_edge_ids_are_reported():
    definition = through()
    definition["edges"].append(edge("start", "end", edge_id=definition["edges"][0]["id"]))
    error = only_error(definition)
    assert (error.code, error.edge_id) == ("duplicate_edge_id", definition["edges"][0]["id"])


def test_a_decision_edge_without_a_branch_handle_is_an_invalid_handle():
    errors = validate_definition(decision_graph(true=None))  # type: ignore[arg-type]
    assert [(e.code, e.edge_id, e.field) for e in errors] == [
        ("invalid_handle", "d--yes", "sourceHandle"),
        ("missing_branch", None, "sourceHandle"),
    ]


def test_an_approval_edge_with_a_decision_handle_is_an_invalid_handle():
    definition = approval_graph()
    definition["edges"][1]["sourceHandle"] = "true"
    assert codes(definition) == ["invalid_handle", "missing_branch"]


def test_a_plain_node_edge_with_a_handle_is_an_invalid_handle():
    definition = through(node("mail", "EmailNode", template="welcome"))
    definition["edges"][1]["sourceHandle"] = "approved"
    error = only_error(definition)
    assert (error.code, error.node_id, error.edge_id) == ("invalid_handle", "mail", definition["edges"][1]["id"])


def test_a_decision_missing_its_false_branch_is_reported():
    error = only_error(decision_graph(false=None))
    assert (error.code, error.node_id) == ("missing_branch", "d")
    assert "false" in error.message


def test_a_decision_with_two_true_branches_is_reported():
    assert codes(decision_graph(false="yes")) == ["duplicate_branch", "missing_branch"]


def test_an_approval_without_an_approved_branch_is_reported():
    definition = approval_graph()
    definition["edges"][1]["sourceHandle"] = "rejected"
    error = only_error(definition)
    assert (error.code, error.node_id) == ("missing_branch", "ok")


def test_an_approval_without_a_rejected_branch_is_allowed():
    assert validate_definition(approval_graph()) == []


def test_an_edge_into_start_is_reported():
    definition = through(node("mail", "EmailNode", template="welcome"))
    definition["edges"].append(edge("mail", "start", edge_id="back"))
    errors = validate_definition(definition)
    assert ("start_has_incoming", "start", "back") in [(e.code, e.node_id, e.edge_id) for e in errors]


def test_an_edge_out_of_end_is_reported():
    definition = through()
    definition["nodes"].append(node("after", "EmailNode", template="welcome"))
    definition["edges"].append(edge("end", "after", edge_id="late"))
    errors = validate_definition(definition)
    assert ("end_has_outgoing", "end", "late") in [(e.code, e.node_id, e.edge_id) for e in errors]


def test_a_cycle_is_reported_naming_its_nodes_in_order():
    definition = through(node("a", "EmailNode", template="t"), node("b", "EmailNode", template="t"))
    definition["edges"].append(edge("b", "a", edge_id="loop"))
    error = only_error(definition)
    assert (error.code, error.node_id) == ("cycle", "a")
    assert "a → b → a" in error.message


def test_a_self_loop_is_a_cycle():
    definition = through(node("a", "EmailNode", template="t"))
    definition["edges"].append(edge("a", "a", edge_id="self"))
    assert only_error(definition).code == "cycle"


def test_a_node_not_reachable_from_start_is_reported():
    definition = through()
    definition["nodes"].append(node("island", "EndNode"))
    error = only_error(definition)
    assert (error.code, error.node_id) == ("unreachable_node", "island")


def test_a_graph_where_start_cannot_reach_an_end_is_reported():
    definition = graph(node("start", "StartNode"), node("mail", "EmailNode", template="t"), node("end", "EndNode"))
    definition["edges"] = [edge("start", "mail")]
    assert set(codes(definition)) == {"dead_end", "unreachable_node", "no_path_to_end"}


def test_a_graph_without_any_end_node_is_reported():
    assert codes(graph(node("start", "StartNode"))) == ["dead_end", "no_path_to_end"]


def test_a_non_end_node_leading_nowhere_is_a_dead_end():
    definition = through()
    definition["nodes"].append(node("side", "EmailNode", template="t"))
    definition["edges"].append(edge("start", "side"))
    error = only_error(definition)
    assert (error.code, error.node_id) == ("dead_end", "side")


def test_many_problems_are_all_reported_at_once_with_their_node_edge_and_field():
    definition = reactflow_export()
    nodes = {item["id"]: item for item in definition["nodes"]}
    nodes["big"]["data"]["condition"] = "input.amount >>> 1"
    nodes["approve"]["data"]["timeout"] = "P1M"
    nodes["notify"]["data"]["subject"] = "{{ input.order_id"
    nodes["hook"]["data"]["method"] = "FETCH"
    nodes["save"]["type"] = "SaveNode"
    definition["edges"][2]["sourceHandle"] = "maybe"
    definition["edges"].append(edge("done", "ghost", edge_id="dangling"))
    found = {(e.code, e.node_id, e.edge_id, e.field) for e in validate_definition(definition)}
    assert {
        ("invalid_expression", "big", None, "condition"),
        ("invalid_duration", "approve", None, "timeout"),
        ("invalid_template", "notify", None, "subject"),
        ("invalid_field", "hook", None, "method"),
        ("unknown_node_type", "save", None, "type"),
        ("invalid_handle", "big", "reactflow__edge-bigfalse-pause", "sourceHandle"),
        ("missing_branch", "big", None, "sourceHandle"),
        ("unknown_node", None, "dangling", "target"),
    } <= found


@pytest.mark.parametrize(
    "definition",
    [
        {"nodes": [None, 1, "x", [], {"id": 5}, {"id": "a", "type": None, "data": None}], "edges": [None, {"id": 3}]},
        {"nodes": [{"id": "s", "type": "start", "data": {"trigger": ["x"]}}], "edges": [{"id": "e", "source": []}]},
        {"nodes": [{"id": "d", "type": "decision", "data": {"condition": {"op": "gt"}}}]},
        {"nodes": [{"id": "w", "type": "wait", "data": {"duration": 5, "until": None}}], "edges": []},
        {"nodes": [{"id": "o", "type": "approval", "data": {"approvers": [1, None], "quorum": [], "timeout": {}}}]},
        {"nodes": [{"id": "m", "type": "email", "data": {"template": 3, "to": ["a"], "subject": None}}]},
        {"nodes": [{"id": "u", "type": "updateRecord", "data": {"operation": [], "collection": 1, "key": []}}]},
        {"nodes": [{"id": "h", "type": "webhook", "data": {"url": 1, "method": 2, "headers": [], "sign": None}}]},
        {"nodes": [{"id": "e", "type": "end", "data": {"status": {}, "output": {"x": "{{"}}}], "edges": []},
    ],
)
def test_malformed_input_produces_errors_never_an_exception(definition):
    errors = validate_definition(copy.deepcopy(definition))
    assert errors
    assert all(isinstance(error.to_dict()["message"], str) for error in errors)


def test_an_error_serialises_to_a_dict_with_all_its_fields():
    error = only_error(through(node("x", "TeleportNode")))
    assert error.to_dict() == {
        "code": "unknown_node_type",
        "message": "node 'x' has an unknown type 'TeleportNode'",
        "node_id": "x",
        "edge_id": None,
        "field": "type",
    }


def test_durations_are_whole_seconds_rounded_up():
    assert [duration_seconds(text) for text in ("P2D", "PT1H30M", "P1W", "pt0.5s")] == [172800, 5400, 604800, 1]


def test_a_calendar_duration_explains_the_alternative():
    with pytest.raises(DurationError, match="P30D"):
        duration_seconds("P1M")


def test_datetimes_need_an_offset():
    assert parse_datetime("2030-01-31T09:00:00Z").utcoffset().total_seconds() == 0
    with pytest.raises(DurationError, match="UTC offset"):
        parse_datetime("2030-01-31T09:00:00")
