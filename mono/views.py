"""Probes for orchestrators and load balancers.

`/healthz` is liveness: it never looks at a dependency, so an outage of PostgreSQL, Temporal or
Redis does not get healthy web processes restarted (docker-compose's healthcheck uses it).
`/readyz` is readiness: it checks each dependency with a short timeout and answers 503 when one
fails, so a load balancer can stop sending traffic until it recovers.
"""

import asyncio
import logging
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django_prometheus.exports import ExportToDjangoView
from psycopg_pool import PoolTimeout
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from mono.metrics_access import metrics_access, unauthorized_headers
from mono.temporal import sync
from mono.temporal.client import connect

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and serving requests (no dependency is checked)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, Temporal and the channel layer all answer, else 503."""
    checks = {name: _run_check(name, check) for name, check in READINESS_CHECKS.items()}
    ready = all(result["ok"] for result in checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


def _run_check(name: str, check: Callable[[], None]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        check()
    except Exception as exc:
        logger.warning("readiness check %s failed", name, exc_info=True)
        result: dict[str, Any] = {"ok": False, "error": _describe(exc)}
    else:
        result = {"ok": True}
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def _describe(exc: Exception) -> str:
    # The probe is unauthenticated and driver messages name hosts, users and databases: answer
    # with the kind of failure only; the log has the details.
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    return type(exc).__name__


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_temporal() -> None:
    async def ping() -> None:
        client = await connect()
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS)
        )

    async def bounded() -> None:
        # Bounds the connect too (its own timeout is TEMPORAL_CONNECT_TIMEOUT_SECONDS).
        await asyncio.wait_for(ping(), CHECK_TIMEOUT_SECONDS)

    sync.run(bounded, timeout=CHECK_TIMEOUT_SECONDS + 1)


def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise LookupError("no channel layer is configured")

    async def round_trip() -> None:
        channel = await layer.new_channel()
        nonce = uuid.uuid4().hex
        await layer.send(channel, {"type": "readyz.ping", "nonce": nonce})
        message = await layer.receive(channel)
        if message.get("nonce") != nonce:
            raise ValueError("the channel layer returned another message")

    async def bounded() -> None:
        await asyncio.wait_for(round_trip(), CHECK_TIMEOUT_SECONDS)

    async_to_sync(bounded)()


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "temporal": _check_temporal,
    "channel_layer": _check_channel_layer,
}


# Metrics -----------------------------------------------------------------------------------------


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (django-prometheus), for a caller with the metrics token (see
    `mono.metrics_access`): 401 without one, 403 with a wrong one or from afar when none is set."""
    status, reason = metrics_access(
        authorization=request.headers.get("Authorization"),
        remote_addr=request.META.get("REMOTE_ADDR"),
        token=settings.METRICS_TOKEN,
    )
    if status != 200:
        return JsonResponse({"detail": reason}, status=status, headers=unauthorized_headers(status))
    return ExportToDjangoView(request)


# Errors ------------------------------------------------------------------------------------------

# How long a client should wait before trying again when the database had no connection free.
DATABASE_BUSY_RETRY_AFTER_SECONDS = 1


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's `handler500`: a database that cannot hand out a connection answers 503, not 500.

    The pool waits `DATABASE_POOL_TIMEOUT_SECONDS` for a free connection; past that (or when
    PostgreSQL itself refuses a connection) the request fails before it changed anything, so the
    honest answer is "busy, try again" with `Retry-After`. Every other error stays a 500.
    """
    exc = sys.exc_info()[1]
    if _database_unavailable(exc):
        response = JsonResponse({"detail": "The service is busy; try again shortly."}, status=503)
        response["Retry-After"] = str(DATABASE_BUSY_RETRY_AFTER_SECONDS)
        return response
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)


def _database_unavailable(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, PoolTimeout):
            return True
        if isinstance(exc, psycopg.OperationalError) and _connection_refused(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _connection_refused(exc: psycopg.OperationalError) -> bool:
    # Raised by connect() only: the server is full or not accepting connections at all.
    message = str(exc)
    return "too many clients" in message or "connection refused" in message.lower() or exc.sqlstate == "53300"
