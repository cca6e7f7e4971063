"""An agent whose worker process is killed (`kill -9`) between two tool calls completes on a new
worker, with each tool called exactly once per call id."""

import os
import signal
import threading
import time
from collections import Counter

from tests.llm.test_agent import ROUTES, STOCK, Hooks, agent_graph, hooks  # noqa: F401  (fixture)
from tests.support.fake_llm import Reply
from tests.support.process import free_port, spawn_manage
from tests.workflows.conftest import wait_result, wait_until
from workflows.models import StepExecution, WorkflowExecution
from workflows.services import definitions, executions


def runworkers(fake_llm):
    """`manage.py runworkers` in its own process, pointed at the fake provider; returns once hosting."""
    process = spawn_manage(
        "runworkers",
        "--health-host",
        "127.0.0.1",
        TEMPORAL_WORKER_HEALTH_PORT=str(free_port()),
        TEMPORAL_WORKER_SDK_METRICS_PORT=str(free_port()),
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=fake_llm.openai_url,
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        LLM_TIMEOUT_SECONDS="5",
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    deadline = time.monotonic() + 60
    while not any(line.startswith("Hosting") for line in lines):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"runworkers did not start: {process.stderr.read()}")
        time.sleep(0.05)
    return process


def test_agent_survives_kill_9_between_tool_calls_without_repeating_one(fake_llm, acme, hooks):  # noqa: F811
    stock = definitions.definition_create(tenant=acme, name="Stock", graph=STOCK)
    fake_llm.script(
        "openai",
        [
            Reply(tool_calls=(("notify", {"text": "one"}), ("stock", {"sku": "A1"}), ("notify", {"text": "two"}))),
            Reply("all done"),
        ],
    )
    definition = definitions.definition_create(
        tenant=acme, name="Agent", graph=agent_graph(route=ROUTES["openai"], hooks_url=hooks, stock_id=stock.pk)
    )
    first = runworkers(fake_llm)
    try:
        execution = executions.execution_start(tenant=acme, definition=definition, input={"sku": "A1"})
        steps = StepExecution.objects.for_tenant(acme).filter(execution_id=execution.id)
        # The first tool call has its result stored: kill the worker before the next one is done.
        wait_until(lambda: steps.filter(node_id="agent/1.0", status="completed").exists(), timeout=60, what="call 1")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert not steps.filter(node_id="agent/1.2", status="completed").exists()
    finally:
        if first.poll() is None:
            first.kill()
    second = runworkers(fake_llm)
    try:
        execution = wait_result(execution, timeout=120)
    finally:
        second.terminate()
        second.wait(30)

    assert execution.status == "completed", execution.error
    assert execution.output == {"answer": "all done"}
    deliveries = Counter(webhook_id for _, webhook_id, _ in Hooks.received)
    assert deliveries == {f"{execution.id}-agent-1-0": 1, f"{execution.id}-agent-1-2": 1}
    children = WorkflowExecution.objects.for_tenant(acme).filter(definition=stock)
    assert [(c.pk, c.status) for c in children] == [(f"{execution.id}-agent-1-1", "completed")]
    assert fake_llm.hits("openai") == 2
