"""Bookkeeping off the critical path: a drawn run costs the work activities and little else, yet
every node keeps its durable row, the run its status and the monitor its live events."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from temporalio.api.enums.v1 import EventType

from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tests.workflows import graphs
from tests.workflows.conftest import open_approval_of, start, user, wait_result, wait_until
from workflows.models import ExecutionEvent, StepExecution
from workflows.services import approvals

CHAIN = graphs.graph(
    graphs.START,
    graphs.record("r1"),
    graphs.record("r2"),
    graphs.record("r3"),
    graphs.END,
    graphs.edge("start", "r1"),
    graphs.edge("r1", "r2"),
    graphs.edge("r2", "r3"),
    graphs.edge("r3", "end"),
)


def history_of(execution):
    async def fetch():
        client = await get_tenant_client(execution.tenant_id)
        return await client.get_workflow_handle(execution.id).fetch_history()

    return sync.run(fetch)


def count(history, event_type) -> int:
    return sum(1 for event in history.events if event.event_type == event_type)


def scheduled(history) -> list[str]:
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def test_three_record_chain_schedules_only_its_three_work_steps(workers, acme):
    execution = wait_result(start(acme, CHAIN, {"key": "k"}))
    assert execution.status == "completed"
    history = history_of(execution)
    assert scheduled(history) == ["run_step", "run_step", "run_step"]
    # A hand-written workflow calling three activities needs four workflow tasks; the finish is
    # a local activity completed in the last one (one more only if that write is slow).
    assert count(history, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) <= 5


def test_every_node_keeps_its_row_with_timings_and_the_run_its_status(workers, acme):
    execution = wait_result(start(acme, CHAIN, {"key": "k"}))
    rows = {row.node_id: row for row in StepExecution.objects.for_tenant(acme).filter(execution=execution)}
    assert {node_id: row.status for node_id, row in rows.items()} == dict.fromkeys(
        ["start", "r1", "r2", "r3", "end"], "completed"
    )
    assert rows["start"].output == {"input": {"key": "k"}}
    assert rows["end"].output == {"status": "completed", "output": None}
    assert all(row.started_at and row.finished_at for row in rows.values())
    # Deferred records keep the time the workflow computed them, not the time they were written.
    assert rows["start"].finished_at <= rows["r1"].started_at
    assert rows["r3"].finished_at <= rows["end"].started_at
    assert execution.run_id and execution.started_at <= rows["r1"].started_at <= execution.finished_at


def test_monitor_stream_announces_running_steps_and_the_finish_in_order(workers, acme):
    execution = wait_result(start(acme, CHAIN, {"key": "k"}))
    events = list(
        ExecutionEvent.objects.for_tenant(acme)
        .filter(execution=execution)
        .order_by("seq")
        .values_list("kind", "node_id")
    )
    assert events[0] == ("execution.started", "")
    assert events[-1] == ("execution.completed", "")
    completed = [node_id for kind, node_id in events if kind == "step.completed"]
    assert completed == ["start", "r1", "r2", "r3", "end"]


def test_approval_opens_and_closes_without_bookkeeping_activities(workers, acme):
    execution = start(acme, graphs.approval_graph(), {"key": "a"})
    approval = open_approval_of(execution)
    assert StepExecution.objects.for_tenant(acme).get(execution=execution, node_id="start").status == "completed"
    approvals.approval_decide(approval=approval, user=user("ada"), decision="approve")
    execution = wait_result(execution)
    assert execution.status == "completed"
    assert set(scheduled(history_of(execution))) == {"run_step"}


def test_wait_is_shown_waiting_while_it_lasts(workers, acme):
    execution = start(acme, graphs.wait_graph(duration="PT3S"))
    waiting = StepExecution.objects.for_tenant(acme).filter(execution=execution, status="waiting")
    assert wait_until(waiting.first, what="waiting row").node_id == "pause"
    execution.refresh_from_db()
    assert execution.status == "running"
    assert wait_result(execution).status == "completed"


class _Hook(BaseHTTPRequestHandler):
    headers_seen: list = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.headers_seen.append({name.lower(): value for name, value in self.headers.items()})
        payload = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def hook(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    _Hook.headers_seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_unsigned_webhook_carries_a_stable_idempotency_key(workers, acme, hook):
    graph = graphs.graph(
        graphs.START,
        graphs.node("call", "WebhookNode", url=hook + "/in", body={"a": 1}, headers={"Webhook-Id": "drawn"}),
        graphs.END,
        graphs.edge("start", "call"),
        graphs.edge("call", "end"),
    )
    execution = wait_result(start(acme, graph))
    assert execution.status == "completed"
    assert [seen["webhook-id"] for seen in _Hook.headers_seen] == [f"{execution.id}-call"]
    assert "webhook-signature" not in _Hook.headers_seen[0]
