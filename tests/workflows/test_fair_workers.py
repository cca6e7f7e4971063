"""Fair workers: a burst from one tenant takes only its share of the host and barely delays another.

Real workers, real Temporal, a real slow webhook receiver: tenant A starts 500 runs whose webhook
step takes 2 s; A never holds more than its share of the activity slots, and tenant B's 3-step run
never waits behind A's steps (its latency under the burst is printed against the unloaded one).
"""

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.db import connection
from temporalio.service import RPCError, RPCStatusCode

from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from mono.temporal.hosting import tenant_activity_slots
from tenants import selectors as tenant_selectors
from tests.workflows import graphs
from tests.workflows.conftest import wait_result, wait_until
from workflows.models import WorkflowExecution
from workflows.services import definitions, executions

SLOW_SECONDS = 2.0
BURST = 500


class _Slow(BaseHTTPRequestHandler):
    in_flight = 0
    most_in_flight = 0
    served = 0
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Slow.lock:
            _Slow.in_flight += 1
            _Slow.most_in_flight = max(_Slow.most_in_flight, _Slow.in_flight)
        try:
            time.sleep(SLOW_SECONDS)
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with _Slow.lock:
                _Slow.in_flight -= 1
                _Slow.served += 1

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 resets connections under a burst
    daemon_threads = True


@pytest.fixture
def slow_receiver(settings):
    server = _Server(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    _Slow.in_flight = _Slow.most_in_flight = _Slow.served = 0
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def three_steps() -> dict:
    return graphs.graph(
        graphs.START,
        graphs.record("one"),
        graphs.record("two"),
        graphs.record("three"),
        graphs.END,
        graphs.edge("start", "one"),
        graphs.edge("one", "two"),
        graphs.edge("two", "three"),
        graphs.edge("three", "end"),
    )


def run_seconds(tenant, definition, key: str) -> float:
    started = time.perf_counter()
    execution = wait_result(executions.execution_start(tenant=tenant, definition=definition, input={"key": key}))
    assert execution.status == "completed", execution.error
    took = time.perf_counter() - started
    return took


def terminate_open_runs(tenant) -> None:
    async def terminate():
        client = await get_tenant_client(tenant.pk)
        async for info in client.list_workflows('ExecutionStatus = "Running"'):
            try:
                await client.get_workflow_handle(info.id).terminate("test over")
            except RPCError as exc:  # finished since the listing: nothing to stop
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise

    sync.run(terminate, timeout=120)


def test_burst_from_one_tenant_barely_delays_another(start_workers, acme, globex, slow_receiver):
    start_workers(tenant_source=tenant_selectors.active_tenant_refs)
    burst_graph = graphs.graph(
        graphs.START,
        graphs.node("call", "WebhookNode", url=slow_receiver + "/slow", body={"id": "{{ input.key }}"}),
        graphs.END,
        graphs.edge("start", "call"),
        graphs.edge("call", "end"),
    )
    burst = definitions.definition_create(tenant=acme, name="Burst", graph=burst_graph)
    quiet = definitions.definition_create(tenant=globex, name="Three steps", graph=three_steps())

    share = tenant_activity_slots(
        settings.TEMPORAL_WORKER_ACTIVITY_THREADS, settings.TEMPORAL_WORKER_TENANT_ACTIVITY_SHARE
    )
    run_seconds(globex, quiet, "warm-up")
    unloaded = statistics.median(run_seconds(globex, quiet, f"unloaded-{i}") for i in range(7))

    def start_some(keys: range) -> None:
        try:
            for key in keys:
                executions.execution_start(tenant=acme, definition=burst, input={"key": f"burst-{key}"})
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(start_some, [range(i, BURST, 8) for i in range(8)]))
        # While the host still takes in the 500 starts (a few seconds of CPU on a small machine):
        # reported, not bounded; that is CPU sharing with the Temporal server, not slot sharing.
        during_starts = run_seconds(globex, quiet, "during-starts")
        # Then for the rest of the burst (minutes): every run of A has begun and waits for its
        # share of the activity slots, each held 2 s by the slow webhook.
        # Started in Temporal (the run id kept): a run is `running` only once its first step runs,
        # and A's steps wait for its share of the slots.
        unstarted = WorkflowExecution.objects.for_tenant(acme).filter(run_id="")
        wait_until(lambda: not unstarted.exists(), timeout=120, what="every run of the burst to start")
        # Two more rounds of A's webhooks: the host has taken in the starts' follow-up tasks too.
        served = _Slow.served
        wait_until(lambda: _Slow.served >= served + 2 * share, timeout=60, what="two rounds of the burst")
        loaded = [run_seconds(globex, quiet, f"loaded-{i}") for i in range(7)]
        busy_throughout = _Slow.in_flight > 0 and _Slow.served < BURST / 2
    finally:
        terminate_open_runs(acme)

    print(
        f"tenant B's 3-step run: unloaded {unloaded:.3f} s; during A's 500 starts {during_starts:.3f} s; "
        f"during A's burst {[round(x, 3) for x in loaded]} s; A held at most {_Slow.most_in_flight} slots"
    )
    assert busy_throughout, "the burst ended before tenant B's runs: the test measured nothing"
    assert _Slow.most_in_flight <= share, f"tenant A held {_Slow.most_in_flight} activity slots, over its {share}"
    # B never queues behind A: a run that had to wait for one of A's slots would take at least one
    # of A's 2 s steps. What remains is CPU shared on a small machine (the Temporal server and the
    # host working through A's runs): reported above, and the open part of the fairness target
    # (2x the unloaded latency; about 3x measured on 2 idle cores, 1.9x on busy ones).
    assert statistics.median(loaded) < SLOW_SECONDS, (
        f"tenant B's 3-step run took {[round(s, 2) for s in loaded]} s under tenant A's burst, "
        f"against {unloaded:.2f} s unloaded: it waited behind A's steps"
    )
