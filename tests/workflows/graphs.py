"""Small ReactFlow documents for engine tests (positions and ReactFlow's extra keys included)."""


def node(node_id: str, node_type: str, **data) -> dict:
    return {"id": node_id, "type": node_type, "position": {"x": 0, "y": 0}, "selected": False, "data": data}


def edge(source: str, target: str, handle: str | None = None) -> dict:
    result = {
        "id": f"reactflow__edge-{source}{handle or ''}-{target}",
        "source": source,
        "target": target,
        "animated": False,
    }
    if handle:
        result["sourceHandle"] = handle
    return result


def graph(*items: dict) -> dict:
    return {
        "nodes": [item for item in items if "source" not in item],
        "edges": [item for item in items if "source" in item],
        "viewport": {"x": 0, "y": 0, "zoom": 1},
    }


def record(node_id: str, collection: str = "results", key: str = "{{ input.key }}", **fields) -> dict:
    return node(
        node_id,
        "UpdateRecordNode",
        operation="upsert",
        collection=collection,
        key=key,
        fields=fields or {"by": node_id},
    )


START = node("start", "StartNode", trigger="manual")
END = node("end", "EndNode", status="completed")

LINEAR_EMAIL = graph(
    START,
    node("mail", "EmailNode", to="{{ input.email }}", subject="Hi {{ input.name }}", body="Welcome {{ input.name }}"),
    END,
    edge("start", "mail"),
    edge("mail", "end"),
)

DECISION_THEN_JOIN = graph(
    START,
    node("big", "DecisionNode", condition="input.amount > 100"),
    record("high", level="high"),
    record("low", level="low"),
    record("join", collection="joined", done="yes"),
    END,
    edge("start", "big"),
    edge("big", "high", "true"),
    edge("big", "low", "false"),
    edge("high", "join"),
    edge("low", "join"),
    edge("join", "end"),
)

PARALLEL = graph(
    START,
    record("left", collection="left"),
    record("right", collection="right"),
    node("end", "EndNode", status="completed", output="{{ steps.left.collection }}+{{ steps.right.collection }}"),
    edge("start", "left"),
    edge("start", "right"),
    edge("left", "end"),
    edge("right", "end"),
)


def approval_graph(approvers=("approver",), quorum="any", rejected_edge: bool = True, **approval) -> dict:
    items = [
        START,
        node(
            "ok",
            "ApprovalNode",
            approvers=list(approvers),
            quorum=quorum,
            message="Approve {{ input.key }}?",
            **approval,
        ),
        record("yes", collection="approved"),
        END,
        edge("start", "ok"),
        edge("ok", "yes", "approved"),
        edge("yes", "end"),
    ]
    if rejected_edge:
        items += [node("no", "EndNode", status="failed"), edge("ok", "no", "rejected")]
    return graph(*items)


def wait_graph(**wait) -> dict:
    return graph(START, node("pause", "WaitNode", **wait), END, edge("start", "pause"), edge("pause", "end"))
