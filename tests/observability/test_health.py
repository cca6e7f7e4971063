"""Probes: `/readyz` checks each dependency, `/healthz` none; the worker's health port serves
Mono's business metrics."""

import shutil
import subprocess
import time
import urllib.request

import pytest
from django.conf import settings
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from mono import metrics
from mono.events import DomainEvent
from mono.temporal.client import forget_connections
from mono.temporal.devserver import free_port, port_open
from mono.temporal.health import serve_health
from tests.factories import TenantFactory

IN_MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def redis_layer(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/0"]},
        }
    }


@pytest.fixture
def unreachable_temporal():
    """Point the process at a Temporal address where nothing listens, for the test's duration."""
    address = settings.TEMPORAL_ADDRESS
    forget_connections()
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"
    yield
    settings.TEMPORAL_ADDRESS = address
    forget_connections()


@pytest.mark.django_db
@override_settings(CHANNEL_LAYERS=IN_MEMORY_LAYER)
def test_readyz_is_200_when_database_temporal_and_channel_layer_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "temporal", "channel_layer"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
@override_settings(CHANNEL_LAYERS=IN_MEMORY_LAYER)
def test_readyz_is_503_naming_temporal_when_it_is_unreachable(client, unreachable_temporal):
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["temporal"]["ok"] is False
    assert body["checks"]["temporal"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is True
    assert "127.0.0.1:1" not in response.content.decode()  # addresses stay in the log


@pytest.mark.django_db
def test_readyz_is_503_naming_the_channel_layer_when_redis_is_unreachable(client):
    with override_settings(CHANNEL_LAYERS=redis_layer(free_port())):
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["channel_layer"]["ok"] is False
    assert checks["database"]["ok"] is True
    assert checks["temporal"]["ok"] is True


@pytest.fixture
def redis_server():
    """A throwaway redis-server on a free port (the machine runs Redis, so the binary is there)."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(10)


@pytest.mark.django_db
def test_readyz_round_trips_a_message_through_a_redis_channel_layer(client, redis_server):
    with override_settings(CHANNEL_LAYERS=redis_layer(redis_server)):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["channel_layer"]["ok"] is True


@pytest.mark.django_db
def test_healthz_stays_200_while_temporal_is_down(client, unreachable_temporal):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_worker_health_port_serves_mono_business_metrics():
    tenant = TenantFactory(slug="health-acme")
    metrics.record_event(DomainEvent("execution.started", tenant.pk, "run-1", {"workflow": "onboarding"}))
    server = serve_health(lambda: {"healthy": True}, host="127.0.0.1", port=0)
    try:
        port = server.server_address[1]
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
    started = {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "mono_executions_total" and sample.labels["tenant"] == "health-acme"
    }
    assert started == {frozenset({"tenant": "health-acme", "workflow": "onboarding", "status": "started"}.items()): 1}
