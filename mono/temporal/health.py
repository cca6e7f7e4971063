"""A small HTTP endpoint inside the worker process: `GET /healthz` answers the manager's report
and `GET /metrics` the process's Prometheus metrics.

It runs on a daemon thread with the standard library's server, so it keeps answering even while
the worker loop is busy; the report is a snapshot of plain values.
"""

import json
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

logger = logging.getLogger(__name__)


def serve_health(report: Callable[[], dict], *, host: str, port: int) -> ThreadingHTTPServer:
    """Start serving `report()` as JSON on `host:port`; returns the server (call `shutdown()`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/metrics":
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest())
            elif path in ("/healthz", "/health"):
                body = report()
                self._answer(200 if body.get("healthy") else 503, "application/json", json.dumps(body).encode())
            else:
                self.send_error(404)

        def _answer(self, status: int, content_type: str, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:
            logger.debug("health: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    Thread(target=server.serve_forever, name="worker-health", daemon=True).start()
    return server
