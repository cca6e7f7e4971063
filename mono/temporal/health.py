"""The worker process's observability endpoints.

`serve_health` is a small HTTP endpoint: `GET /healthz` answers the manager's report (open to
all) and `GET /metrics` the process's Prometheus metrics (prometheus_client's default registry:
process metrics and Mono's business metrics from `mono.metrics`) to a caller with the metrics
token, or on loopback when none is set (`mono.metrics_access`). It runs on a daemon thread with the
standard library's server, so it keeps answering even while the worker loop is busy; the report is
a snapshot of plain values.

`serve_sdk_metrics` has the Temporal SDK serve its own worker metrics (pollers, task slots,
schedule-to-start and execution latencies, ...) on a second port: the SDK's core records them
natively, outside prometheus_client, and exports them itself.
"""

import json
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from mono.metrics_access import metrics_access, unauthorized_headers

logger = logging.getLogger(__name__)


def serve_health(report: Callable[[], dict], *, host: str, port: int, metrics_token: str = "") -> ThreadingHTTPServer:
    """Start serving `report()` as JSON on `host:port`, and the metrics to holders of
    `metrics_token` (loopback callers when it is empty); returns the server (call `shutdown()`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/metrics":
                status, reason = metrics_access(
                    authorization=self.headers.get("Authorization"),
                    remote_addr=self.client_address[0],
                    token=metrics_token,
                )
                if status != 200:
                    body = json.dumps({"detail": reason}).encode()
                    self._answer(status, "application/json", body, unauthorized_headers(status))
                    return
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest())
            elif path in ("/healthz", "/health"):
                body = report()
                self._answer(200 if body.get("healthy") else 503, "application/json", json.dumps(body).encode())
            else:
                self.send_error(404)

        def _answer(self, status: int, content_type: str, payload: bytes, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:
            logger.debug("health: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    Thread(target=server.serve_forever, name="worker-health", daemon=True).start()
    return server


def serve_sdk_metrics(*, host: str, port: int) -> bool:
    """Install a default Temporal `Runtime` exporting the SDK's metrics on `host:port/metrics`.

    Call it before the process's first Temporal client connects: clients and workers report
    through the runtime they were created with. Returns False, with an error logged, when the
    port cannot be bound; the workers then run without SDK metrics, since a metrics port must not
    stop the work (Prometheus shows the target as down).
    """
    config = PrometheusConfig(
        bind_address=f"{host}:{port}",
        # Prometheus naming: counters end in `_total`, durations are `_seconds` like Mono's own.
        counters_total_suffix=True,
        unit_suffix=True,
        durations_as_seconds=True,
    )
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=config))
    except ValueError:
        logger.exception("Temporal SDK metrics are off: cannot serve them on %s:%s", host, port)
        return False
    Runtime.set_default(runtime)
    return True
