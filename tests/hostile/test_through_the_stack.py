"""Hostile definitions through the API, and a hostile condition through real workers.

The API refuses what validation can see with a 400 naming the limit, node and field; what only the
run can see fails that run's step with an error naming the node, while the worker that hosts every
tenant keeps serving the others.
"""

import time

import pytest

from tenants import selectors as tenant_selectors
from tests.hostile.test_evaluation import ITEMS, _llm_node, _ring, _with
from tests.workflows import graphs
from tests.workflows.conftest import api_as, start, wait_result
from workflows.models import StepExecution, WorkflowDefinition

SECONDS = 10


@pytest.mark.timeout(SECONDS)
def test_a_7mb_50k_node_ring_sent_to_validate_is_refused_quickly(acme):
    api = api_as(acme, "vic")
    api.raise_request_exception = False  # answer as the server would, rather than re-raise in the test
    started = time.perf_counter()
    response = api.post("/api/v1/workflows/validate", {"definition": _ring(50_000)}, format="json")
    assert time.perf_counter() - started < SECONDS
    assert 400 <= response.status_code < 500  # the request body limit answers before any graph work


@pytest.mark.timeout(SECONDS)
def test_a_50k_node_ring_within_the_body_limit_is_a_400_naming_the_graph_limit(acme, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = settings.API_MAX_BODY_BYTES = 50_000_000  # let it reach the graph limits
    started = time.perf_counter()
    response = api_as(acme, "vic").post("/api/v1/workflows/validate", {"definition": _ring(50_000)}, format="json")
    assert time.perf_counter() - started < SECONDS
    assert response.status_code == 400
    fields = [(e["code"], e["field"]) for e in response.json()["definition"]]
    assert fields == [("too_large", "max_nodes"), ("too_large", "max_edges")]
    assert "limit is 500 (max_nodes)" in response.json()["definition"][0]["message"]


@pytest.mark.timeout(SECONDS)
def test_a_7mb_ring_at_the_default_body_limit_is_a_413_naming_the_limit(acme):
    response = api_as(acme, "vic").post("/api/v1/workflows/validate", {"definition": _ring(50_000)}, format="json")
    assert response.status_code == 413
    assert "API_MAX_BODY_BYTES" in response.json()["detail"]


@pytest.mark.timeout(SECONDS)
def test_a_template_over_the_length_limit_sent_to_validate_is_a_400_naming_node_and_field(acme):
    hook = graphs.node("hook", "WebhookNode", url="https://example.test", body={"text": "{{ input.x }}" * 3000})
    response = api_as(acme, "vic").post("/api/v1/workflows/validate", {"definition": _with(hook)}, format="json")
    assert response.status_code == 400
    [error] = response.json()["definition"]
    assert (error["node_id"], error["field"]) == ("hook", "body.text") and "max_template_chars" in error["message"]


@pytest.mark.timeout(SECONDS)
def test_saving_an_output_schema_with_a_remote_ref_is_a_400_naming_node_and_field(acme):
    graph = _with(_llm_node({"$ref": "http://169.254.169.254/latest/meta-data"}))
    response = api_as(acme, "erin").post("/api/v1/workflows", {"name": "SSRF", "definition": graph}, format="json")
    assert response.status_code == 400
    problems = [(e["node_id"], e["field"]) for e in response.json()["definition"] if e["code"] == "invalid_schema"]
    assert problems == [("ask", "output_schema")]
    assert not WorkflowDefinition.objects.exists()


def _decision(condition: str) -> dict:
    return graphs.graph(
        graphs.START,
        graphs.node("check", "DecisionNode", condition=condition),
        graphs.node("yes", "EndNode", status="completed"),
        graphs.node("no", "EndNode", status="completed"),
        graphs.edge("start", "check"),
        graphs.edge("check", "yes", "true"),
        graphs.edge("check", "no", "false"),
    )


@pytest.mark.timeout(120)
def test_a_doubling_condition_fails_its_step_naming_the_node_and_the_worker_keeps_serving(start_workers, acme, globex):
    start_workers(tenant_source=tenant_selectors.active_tenant_refs)
    hostile = _decision(f'[{ITEMS}].reduce(r, i, "ab", r + r).size() > 0')  # H1: tens of GiB unchecked

    started = time.perf_counter()
    failed = wait_result(start(acme, hostile, name="Hostile"))
    assert time.perf_counter() - started < SECONDS
    assert failed.status == "failed"
    assert "step check (DecisionNode) failed: condition: the condition built a value larger than" in failed.error
    step = StepExecution.objects.for_tenant(acme).get(execution=failed, node_id="check")
    assert step.status == "failed" and step.error.startswith("condition: ")

    # The same worker process, right after: another tenant's run completes.
    other = wait_result(start(globex, _decision("input.amount > 100"), {"amount": 150}, name="Ordinary"))
    assert other.status == "completed"
    assert StepExecution.objects.for_tenant(globex).get(execution=other, node_id="yes").status == "completed"
