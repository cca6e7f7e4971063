"""Ready-made workflows a tenant can instantiate (ReactFlow documents, positions included)."""

from dataclasses import dataclass


def _node(node_id: str, node_type: str, x: int, y: int, **data) -> dict:
    return {"id": node_id, "type": node_type, "position": {"x": x, "y": y}, "data": data}


def _edge(source: str, target: str, handle: str | None = None) -> dict:
    edge = {"id": f"reactflow__edge-{source}{handle or ''}-{target}", "source": source, "target": target}
    if handle:
        edge["sourceHandle"] = handle
    return edge


@dataclass(frozen=True)
class WorkflowTemplate:
    slug: str
    name: str
    description: str
    definition: dict


CUSTOMER_ONBOARDING = WorkflowTemplate(
    slug="customer-onboarding",
    name="Customer onboarding",
    description="An admin approves a new customer, who then gets a welcome e-mail. Input: name, email.",
    definition={
        "nodes": [
            _node("start", "StartNode", 0, 0, trigger="manual"),
            _node(
                "approve",
                "ApprovalNode",
                0,
                120,
                approvers=["admin", "owner"],
                message="Onboard {{ input.name }}?",
                timeout="P7D",
                # Whoever starts an onboarding may approve it (a one-person team, the demo);
                # untick it where a second person must decide.
                allowStarter=True,
            ),
            _node(
                "welcome",
                "EmailNode",
                0,
                240,
                to="{{ input.email }}",
                subject="Welcome, {{ input.name }}",
                body="Hello {{ input.name }},\n\nyour account is ready.",
            ),
            _node("done", "EndNode", 0, 360, status="completed"),
        ],
        "edges": [_edge("start", "approve"), _edge("approve", "welcome", "approved"), _edge("welcome", "done")],
        "viewport": {"x": 0, "y": 0, "zoom": 1},
    },
)

DOCUMENT_PROCESSING = WorkflowTemplate(
    slug="document-processing",
    name="Document processing",
    description=(
        "Reads an uploaded document's text, an LLM extracts its fields as JSON, and the result is stored as a "
        "record keyed by the document. Input: media (the id of an asset uploaded to /api/v1/media)."
    ),
    definition={
        "nodes": [
            _node("start", "StartNode", 0, 0, trigger="manual"),
            # Waits until the upload is processed; the first 20,000 characters travel on, the rest by reference.
            _node("read", "ExtractNode", 0, 120, media="{{ input.media }}", max_chars=20000),
            _node(
                "extract",
                "LLMNode",
                0,
                240,
                messages=[
                    {
                        "role": "system",
                        "content": "Extract title, parties and dates from the document. Answer in JSON.",
                    },
                    {"role": "user", "content": "{{ steps.read.text }}"},
                ],
                output_schema={"type": "object"},
            ),
            _node(
                "store",
                "UpdateRecordNode",
                0,
                360,
                operation="upsert",
                collection="documents",
                key="{{ input.media }}",
                fields={"extracted": "{{ steps.extract.json | tojson }}", "name": "{{ steps.read.name }}"},
            ),
            _node("done", "EndNode", 0, 480, status="completed"),
        ],
        "edges": [
            _edge("start", "read"),
            _edge("read", "extract"),
            _edge("extract", "store"),
            _edge("store", "done"),
        ],
        "viewport": {"x": 0, "y": 0, "zoom": 1},
    },
)

MULTI_STEP_APPROVAL = WorkflowTemplate(
    slug="multi-step-approval",
    name="Multi-step approval",
    description="Manager, then director, then finance approve; a rejection at any step ends the run as rejected.",
    definition={
        "nodes": [
            _node("start", "StartNode", 0, 0, trigger="manual"),
            _node("manager", "ApprovalNode", 0, 120, approvers=["editor", "admin"], message="Manager approval"),
            _node("director", "ApprovalNode", 0, 240, approvers=["admin"], message="Director approval"),
            _node("finance", "ApprovalNode", 0, 360, approvers=["owner"], message="Finance approval"),
            _node("approved", "EndNode", 0, 480, status="completed"),
        ],
        "edges": [
            _edge("start", "manager"),
            _edge("manager", "director", "approved"),
            _edge("director", "finance", "approved"),
            _edge("finance", "approved", "approved"),
        ],
        "viewport": {"x": 0, "y": 0, "zoom": 1},
    },
)

TEMPLATES = {t.slug: t for t in (CUSTOMER_ONBOARDING, DOCUMENT_PROCESSING, MULTI_STEP_APPROVAL)}
