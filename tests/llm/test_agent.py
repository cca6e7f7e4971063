"""The agent node on real workers: native tool calling on each provider, a webhook tool and a
workflow tool, the step limit, and tool workflows confined to the tenant."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llm.models import LLMUsage
from tenants.selectors import active_tenant_refs
from tests.llm.conftest import api_as
from tests.support.fake_llm import Reply
from tests.workflows import graphs
from tests.workflows.conftest import wait_result
from workflows.models import StepExecution, WorkflowExecution
from workflows.services import definitions, executions
from workflows.services.definitions import DefinitionInvalid

ROUTES = {
    "openai": "openai:gpt-4o-mini",
    "anthropic": "anthropic:claude-3-5-haiku-latest",
    "mistral": "mistral:mistral-small-latest",
}
STOCK = graphs.graph(
    graphs.START,
    graphs.node("end", "EndNode", status="completed", output={"sku": "{{ input.sku }}", "in_stock": 3}),
    graphs.edge("start", "end"),
)


class Hooks(BaseHTTPRequestHandler):
    """A tool endpoint that records each delivery (path, webhook-id, body) and answers `{"sent": true}`."""

    received: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Hooks.received.append((self.path, self.headers.get("webhook-id"), body))
        payload = b'{"sent": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def hooks(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    Hooks.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def workers(start_workers, acme):
    return start_workers(tenant_source=active_tenant_refs)


def agent_graph(*, route: str, hooks_url: str, stock_id: int, **extra) -> dict:
    tools = [
        {
            "name": "notify",
            "description": "Tell the warehouse",
            "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
            "action": {"type": "webhook", "url": hooks_url + "/notify", "method": "POST"},
        },
        {
            "name": "stock",
            "description": "Stock of a SKU",
            "parameters": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]},
            "action": {"type": "workflow", "workflow": stock_id},
        },
    ]
    agent = graphs.node(
        "agent",
        "AgentNode",
        route=route,
        instructions="You run a warehouse.",
        prompt="Check {{ input.sku }}",
        tools=tools,
        **extra,
    )
    return graphs.graph(
        graphs.START,
        agent,
        graphs.node("end", "EndNode", status="completed", output={"answer": "{{ steps.agent.content }}"}),
        graphs.edge("start", "agent"),
        graphs.edge("agent", "end"),
    )


def run_agent(tenant, graph: dict, input: dict) -> WorkflowExecution:
    definition = definitions.definition_create(tenant=tenant, name="Agent", graph=graph)
    return wait_result(executions.execution_start(tenant=tenant, definition=definition, input=input), timeout=60)


@pytest.mark.parametrize("provider", ROUTES)
def test_agent_calls_a_webhook_tool_and_a_workflow_tool_then_answers(provider, fake_llm, acme, workers, hooks):
    stock = definitions.definition_create(tenant=acme, name="Stock", graph=STOCK)
    fake_llm.script(
        provider,
        [
            Reply(tool_calls=(("notify", {"text": "checking A1"}),)),
            Reply(tool_calls=(("stock", {"sku": "A1"}),)),
            Reply("A1: 3 in stock"),
        ],
    )
    execution = run_agent(acme, agent_graph(route=ROUTES[provider], hooks_url=hooks, stock_id=stock.pk), {"sku": "A1"})

    assert execution.status == "completed", execution.error
    assert execution.output == {"answer": "A1: 3 in stock"}
    assert Hooks.received == [("/notify", f"{execution.id}-agent-1-0", {"text": "checking A1"})]
    child = WorkflowExecution.objects.for_tenant(acme).get(pk=f"{execution.id}-agent-2-0")
    assert (child.status, child.output) == ("completed", {"sku": "A1", "in_stock": 3})
    steps = {s.node_id: s for s in StepExecution.objects.for_tenant(acme).filter(execution=execution)}
    notify, lookup = steps["agent/1.0"], steps["agent/2.0"]
    assert (notify.node_type, notify.status, notify.input["arguments"]) == (
        "AgentToolCall",
        "completed",
        {"text": "checking A1"},
    )
    assert notify.output["result"] == {"sent": True} and "duration_ms" in notify.output
    assert lookup.output["result"] == {"sku": "A1", "in_stock": 3} and lookup.output["cost"] == "0"
    assert steps["agent"].status == "completed" and steps["agent"].output["tool_calls"] == 2
    # The last turn saw both tool results, sent back in the provider's own format.
    sent = json.dumps(fake_llm.last(provider).body["messages"])
    assert '\\"sent\\": true' in sent and '\\"in_stock\\": 3' in sent
    usage = LLMUsage.objects.for_tenant(acme).filter(execution_id=execution.id, node_id="agent")
    assert usage.count() == 3 and all(row.cost > 0 for row in usage)


def test_agent_that_never_answers_fails_at_max_steps(fake_llm, acme, workers, hooks):
    stock = definitions.definition_create(tenant=acme, name="Stock", graph=STOCK)
    fake_llm.script("openai", [Reply(tool_calls=(("notify", {"text": f"again {n}"}),)) for n in range(3)])
    graph = agent_graph(route=ROUTES["openai"], hooks_url=hooks, stock_id=stock.pk, max_steps=2)
    execution = run_agent(acme, graph, {"sku": "A1"})
    assert execution.status == "failed"
    assert "max_steps (2)" in execution.error
    assert fake_llm.hits("openai") == 2 and len(Hooks.received) == 2
    assert StepExecution.objects.for_tenant(acme).get(execution=execution, node_id="agent").status == "failed"


def test_another_tenants_workflow_is_refused_as_a_tool(acme, globex):
    foreign = definitions.definition_create(tenant=globex, name="Theirs", graph=STOCK)
    graph = agent_graph(route=ROUTES["openai"], hooks_url="http://127.0.0.1:9", stock_id=foreign.pk)
    with pytest.raises(DefinitionInvalid) as refused:
        definitions.definition_create(tenant=acme, name="Agent", graph=graph)
    [problem] = refused.value.errors
    assert (problem.node_id, problem.field, problem.code) == ("agent", "tools[1].action.workflow", "unknown_workflow")
    response = api_as(acme, "erin").post("/api/v1/workflows", {"name": "Agent", "definition": graph}, format="json")
    assert response.status_code == 400 and "tools[1].action.workflow" in json.dumps(response.json())


def test_a_tool_cannot_run_the_workflow_that_contains_the_agent(acme):
    stock = definitions.definition_create(tenant=acme, name="Stock", graph=STOCK)
    definition = definitions.definition_create(
        tenant=acme, name="Agent", graph=agent_graph(route=ROUTES["openai"], hooks_url="http://x", stock_id=stock.pk)
    )
    recursive = agent_graph(route=ROUTES["openai"], hooks_url="http://x", stock_id=definition.pk)
    with pytest.raises(DefinitionInvalid) as refused:
        definitions.definition_update(definition=definition, graph=recursive)
    assert [e.code for e in refused.value.errors] == ["recursive_tool"]


def test_tool_names_must_be_unique_and_schemas_valid():
    from workflows.graph.nodes import node_type

    tool = {"name": "a", "parameters": {"type": "object"}, "action": {"type": "webhook", "url": "https://x"}}
    bad = {"name": "a b", "parameters": {"type": "nope"}, "action": {"type": "ftp"}}
    _, problems = node_type("agent").check({"prompt": "hi", "tools": [tool, tool, bad], "max_steps": 33})
    fields = {p.field for p in problems}
    assert fields == {"tools[1].name", "tools[2].name", "tools[2].parameters", "tools[2].action.type", "max_steps"}
