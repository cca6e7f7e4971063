"""A killed worker host costs seconds, not minutes: work steps heartbeat with a short
heartbeat_timeout, so an interrupted step is retried soon after the worker comes back."""

import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.process import free_port, spawn_manage
from tests.workflows import graphs
from tests.workflows.conftest import start, wait_result, wait_until
from workflows.models import StepExecution

RUNS = 40
RECEIVER_SECONDS = 3.0
SETTLE_AFTER_RESTART_SECONDS = 15.0


class _Slow(BaseHTTPRequestHandler):
    delivered: set = set()  # webhook-id of every delivery answered
    arrived = 0
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Slow.lock:
            _Slow.arrived += 1
        time.sleep(RECEIVER_SECONDS)
        payload = json.dumps({"ok": True}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            return  # the caller died with its worker
        with _Slow.lock:
            _Slow.delivered.add(self.headers["webhook-id"])

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Slow.delivered, _Slow.arrived = set(), 0
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def runworkers():
    """`manage.py runworkers` in a child process, returned once it hosts the tenant queues."""
    process = spawn_manage(
        "runworkers",
        "--health-host",
        "127.0.0.1",
        TEMPORAL_WORKER_HEALTH_PORT=str(free_port()),
        TEMPORAL_WORKER_SDK_METRICS_PORT=str(free_port()),
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    threading.Thread(target=lambda: process.stderr.read(), daemon=True).start()
    deadline = time.monotonic() + 60
    while not any(line.startswith("Hosting") for line in lines):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("runworkers did not start")
        time.sleep(0.05)
    return process


def test_kill_9_of_the_worker_host_mid_run_every_run_completes_soon_after_restart(acme, slow_receiver):
    graph = graphs.graph(
        graphs.START,
        graphs.node("call", "WebhookNode", url=slow_receiver + "/slow", body={"id": "{{ input.key }}"}),
        graphs.END,
        graphs.edge("start", "call"),
        graphs.edge("call", "end"),
    )
    worker = runworkers()
    try:
        runs = [start(acme, graph, {"key": f"k{number}"}) for number in range(RUNS)]
        wait_until(lambda: _Slow.arrived >= RUNS // 2, timeout=30, what="webhook calls in flight")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        worker = runworkers()
        restarted = time.monotonic()
        finished = [wait_result(run, timeout=60) for run in runs]
        settled = time.monotonic() - restarted
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert [run.status for run in finished] == ["completed"] * RUNS
    assert settled <= SETTLE_AFTER_RESTART_SECONDS, f"settled {settled:.1f} s after the restart"
    # Each delivery carried its stable key: the receiver can tell retries of one step apart.
    assert _Slow.delivered == {f"{run.id}-call" for run in runs}
    retried = StepExecution.objects.for_tenant(acme).filter(execution__in=runs, node_id="call", attempt__gt=1)
    assert retried.exists()  # the kill really interrupted steps
