"""Payloads stay small: outputs above the limit stay in PostgreSQL and travel as references, so
no run reaches Temporal's payload limits whatever its steps return."""

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from temporalio.api.enums.v1 import EventType

from tests.workflows import graphs
from tests.workflows.conftest import start, wait_result
from tests.workflows.test_bookkeeping import history_of
from workflows.models import Record, StepExecution
from workflows.temporal import refs

BLOB_CHARS = 990_000  # ~1 MB: just under the outbound client's response cap


def test_small_output_travels_unchanged():
    output = {"status_code": 200, "body": {"id": 1}}
    assert refs.shrink(output, node_id="n", limit=1024) == output


def test_large_parts_become_references_small_fields_stay_inline():
    output = {"status_code": 200, "body": {"n": 7, "blob": "x" * 5000}}
    shrunk = refs.shrink(output, node_id="hook", limit=1024)
    assert shrunk["status_code"] == 200 and shrunk["body"]["n"] == 7
    assert refs.is_ref(shrunk["body"]["blob"])
    assert shrunk["body"]["blob"]["$stored"]["path"] == ["body", "blob"]
    assert refs.size_of(shrunk) <= 1024
    assert refs.resolve(shrunk, {"hook": output}) == output


def test_many_medium_fields_are_referenced_until_the_output_fits():
    output = {f"f{i}": "y" * 300 for i in range(10)}
    shrunk = refs.shrink(output, node_id="n", limit=1024)
    assert refs.size_of(shrunk) <= 1024
    assert refs.resolve(shrunk, {"n": output}) == output


class _Big(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        payload = json.dumps({"n": body["n"], "blob": "z" * BLOB_CHARS}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def big_server(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Big)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def thirty_megabyte_graph(url: str) -> dict:
    ids = [f"w{i}" for i in range(1, 31)]
    hooks = [graphs.node(node_id, "WebhookNode", url=url, body={"n": i}) for i, node_id in enumerate(ids, 1)]
    summary = graphs.record(
        "sum",
        key="{{ input.key }}",
        first_length="{{ steps.w1.body.blob | length }}",
        last_n="{{ steps.w30.body.n }}",
    )
    end = graphs.node("end", "EndNode", status="completed", output="{{ steps.w30.body.n }}")
    chain = ["start", *ids, "sum", "end"]
    edges = [graphs.edge(a, b) for a, b in itertools.pairwise(chain)]
    return graphs.graph(graphs.START, *hooks, summary, end, *edges)


def test_thirty_steps_of_one_megabyte_complete_with_small_payloads(workers, acme, big_server):
    execution = wait_result(start(acme, thirty_megabyte_graph(big_server), {"key": "big"}), timeout=120)
    assert (execution.status, execution.error) == ("completed", "")
    assert execution.output == "30"
    # Later steps still see the whole values, read back from PostgreSQL.
    assert Record.objects.for_tenant(acme).get(key="big").fields == {"first_length": str(BLOB_CHARS), "last_n": "30"}
    stored = StepExecution.objects.for_tenant(acme).get(execution=execution, node_id="w17").output
    assert stored["body"] == {"n": 17, "blob": "z" * BLOB_CHARS}
    # Not one payload in the history comes near Temporal's 2 MB limit.
    history = history_of(execution)
    largest = max(event.ByteSize() for event in history.events)
    assert largest < 256 * 1024
    assert sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 31
