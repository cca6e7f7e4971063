"""Mono's business metrics: what domain events and real workflow runs leave on `/metrics`, and the
worker process's two metrics ports."""

import re
import socket
import threading
import time
import urllib.request

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mono import metrics
from mono.events import DomainEvent, emit
from mono.temporal.client import tenant_namespace
from mono.temporal.devserver import free_port
from tenants import services as tenant_services
from tests.factories import TenantFactory
from tests.support.process import spawn_manage
from tests.workflows import graphs
from tests.workflows.conftest import acme, open_approval_of, start, user, wait_result, workers  # noqa: F401
from workflows.services import approvals

Labels = frozenset[tuple[str, str]]


@pytest.fixture(autouse=True)
def fresh_metrics():
    """Start every test from empty Mono metrics, so counts are this test's alone."""
    for metric in metrics.METRICS:
        metric.clear()
    metrics.forget_label_values()
    yield
    metrics.forget_label_values()


def scrape() -> dict[str, dict[Labels, float]]:
    """Mono's samples as the `/metrics` text shows them: {sample name: {label set: value}}."""
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if sample.name.startswith("mono_") and not sample.name.endswith("_created"):
                samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def labelset(**labels: str) -> Labels:
    return frozenset(labels.items())


def emit_committed(django_capture_on_commit_callbacks, *events: DomainEvent) -> None:
    """Emit `events` in a transaction and run what its commit would run."""
    with django_capture_on_commit_callbacks(execute=True):
        for event in events:
            emit(event)


# Events ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_execution_events_count_by_tenant_slug_workflow_and_status(django_capture_on_commit_callbacks):
    tenant = TenantFactory(slug="acme")
    emit_committed(
        django_capture_on_commit_callbacks,
        DomainEvent("execution.started", tenant.pk, "run-1", {"workflow": "onboarding"}),
        DomainEvent("execution.started", tenant.pk, "run-2", {"workflow": "onboarding"}),
        DomainEvent(
            "execution.completed", tenant.pk, "run-1", {"status": "completed", "workflow": "onboarding", "seconds": 3}
        ),
        DomainEvent(
            "execution.failed",
            tenant.pk,
            "run-2",
            {"status": "failed", "workflow": "onboarding", "seconds": 40, "error": "x"},
        ),
    )
    samples = scrape()
    assert samples["mono_executions_total"] == {
        labelset(tenant="acme", workflow="onboarding", status="started"): 2,
        labelset(tenant="acme", workflow="onboarding", status="completed"): 1,
        labelset(tenant="acme", workflow="onboarding", status="failed"): 1,
    }
    assert samples["mono_execution_duration_seconds_count"] == {
        labelset(tenant="acme", workflow="onboarding", status="completed"): 1,
        labelset(tenant="acme", workflow="onboarding", status="failed"): 1,
    }
    assert samples["mono_execution_duration_seconds_sum"][
        labelset(tenant="acme", workflow="onboarding", status="failed")
    ] == pytest.approx(40)


@pytest.mark.django_db
def test_events_of_a_rolled_back_transaction_count_nothing(django_capture_on_commit_callbacks):
    from django.db import transaction

    tenant = TenantFactory(slug="acme")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            emit(DomainEvent("execution.started", tenant.pk, "run-1", {"workflow": "onboarding"}))
            raise RuntimeError("the change is rolled back")
    assert "mono_executions_total" not in scrape()


@pytest.mark.django_db
def test_step_events_count_by_node_type_and_observe_finished_durations(django_capture_on_commit_callbacks):
    tenant = TenantFactory(slug="acme")
    emit_committed(
        django_capture_on_commit_callbacks,
        DomainEvent("step.running", tenant.pk, "run-1", {"node_id": "mail", "node_type": "EmailNode", "attempt": 1}),
        DomainEvent(
            "step.completed",
            tenant.pk,
            "run-1",
            {"node_id": "mail", "node_type": "EmailNode", "seconds": 0.2, "attempt": 1},
        ),
        DomainEvent("step.skipped", tenant.pk, "run-1", {"node_id": "other"}),
    )
    samples = scrape()
    assert samples["mono_steps_total"] == {
        labelset(node_type="EmailNode", status="running"): 1,
        labelset(node_type="EmailNode", status="completed"): 1,
        labelset(node_type="unknown", status="skipped"): 1,
    }
    assert samples["mono_step_duration_seconds_count"] == {labelset(node_type="EmailNode", status="completed"): 1}
    assert (
        samples["mono_step_duration_seconds_bucket"][labelset(node_type="EmailNode", status="completed", le="0.25")]
        == 1
    )


@pytest.mark.django_db
def test_approvals_pending_rises_on_request_and_falls_on_decision(django_capture_on_commit_callbacks):
    tenant = TenantFactory(slug="acme")
    emit_committed(
        django_capture_on_commit_callbacks,
        DomainEvent("approval.requested", tenant.pk, "run-1", {"approval_id": 7, "node_id": "ok"}),
        DomainEvent("approval.requested", tenant.pk, "run-2", {"approval_id": 8, "node_id": "ok"}),
    )
    assert scrape()["mono_approvals_pending"] == {labelset(tenant="acme"): 2}

    emit_committed(
        django_capture_on_commit_callbacks,
        DomainEvent(
            "approval.decided",
            tenant.pk,
            "run-1",
            {"approval_id": 7, "status": "approved", "timed_out": False, "seconds": 120},
        ),
        DomainEvent(
            "approval.decided",
            tenant.pk,
            "run-2",
            {"approval_id": 8, "status": "rejected", "timed_out": True, "seconds": 86400},
        ),
    )
    samples = scrape()
    assert samples["mono_approvals_pending"] == {labelset(tenant="acme"): 0}
    assert samples["mono_approval_decision_seconds_count"] == {
        labelset(tenant="acme", status="approved"): 1,
        labelset(tenant="acme", status="rejected"): 1,
    }
    assert samples["mono_approval_timeouts_total"] == {labelset(tenant="acme", status="rejected"): 1}


@pytest.mark.django_db
def test_llm_usage_counts_requests_tokens_and_cost_by_tenant_provider_and_model(django_capture_on_commit_callbacks):
    tenant = TenantFactory(slug="acme")
    usage = {"provider": "openai", "model": "gpt-4o-mini", "status": "ok", "input_tokens": 120, "output_tokens": 30}
    emit_committed(
        django_capture_on_commit_callbacks,
        DomainEvent("llm.usage", tenant.pk, "", {**usage, "cost": 0.00025}),
        DomainEvent("llm.usage", tenant.pk, "", {**usage, "cost": 0.00075}),
        DomainEvent(
            "llm.usage", tenant.pk, "", {**usage, "status": "error", "input_tokens": 0, "output_tokens": 0, "cost": 0}
        ),
    )
    samples = scrape()
    key = labelset(tenant="acme", provider="openai", model="gpt-4o-mini")
    assert samples["mono_llm_requests_total"] == {
        labelset(tenant="acme", provider="openai", model="gpt-4o-mini", status="ok"): 2,
        labelset(tenant="acme", provider="openai", model="gpt-4o-mini", status="error"): 1,
    }
    assert samples["mono_llm_input_tokens_total"] == {key: 240}
    assert samples["mono_llm_output_tokens_total"] == {key: 60}
    assert samples["mono_llm_cost_usd_total"][key] == pytest.approx(0.001)


@pytest.mark.django_db
def test_events_of_a_tenant_that_cannot_be_found_are_labelled_unknown(django_capture_on_commit_callbacks):
    emit_committed(
        django_capture_on_commit_callbacks,
        DomainEvent("execution.started", 987654, "run-1", {"workflow": "onboarding"}),
    )
    assert scrape()["mono_executions_total"] == {labelset(tenant="unknown", workflow="onboarding", status="started"): 1}


@pytest.mark.django_db
def test_tenant_chosen_names_past_their_budget_are_counted_as_other(django_capture_on_commit_callbacks, monkeypatch):
    tenant = TenantFactory(slug="acme")
    monkeypatch.setattr(metrics.model_label, "limit", 2)
    emit_committed(
        django_capture_on_commit_callbacks,
        *[
            DomainEvent("llm.usage", tenant.pk, "", {"provider": "openai", "model": model, "status": "ok"})
            for model in ("m1", "m2", "m3", "m4", "m1")
        ],
    )
    requests = scrape()["mono_llm_requests_total"]
    assert {dict(labels)["model"]: value for labels, value in requests.items()} == {"m1": 2, "m2": 1, "other": 2}


@pytest.mark.django_db
def test_webhook_events_use_the_tenant_slug_and_queue_jobs_the_queue_key():
    tenant = TenantFactory(slug="acme")
    metrics.record_webhook_event(tenant_id=tenant.pk, status="accepted")
    metrics.record_webhook_event(tenant_id=None, status="bad_signature")
    metrics.record_queue_job(queue=f"tenant-{tenant.pk}-send-email", status="failed")
    metrics.record_queue_job(queue="send-email", status="completed")
    metrics.record_queue_job(queue="no-such-queue", status="completed")
    samples = scrape()
    assert samples["mono_webhook_events_total"] == {
        labelset(tenant="acme", status="accepted"): 1,
        labelset(tenant="unknown", status="bad_signature"): 1,
    }
    assert samples["mono_queue_jobs_total"] == {
        labelset(queue="send-email", status="failed"): 1,
        labelset(queue="send-email", status="completed"): 1,
        labelset(queue="other", status="completed"): 1,
    }


ID_LIKE = re.compile(r"^\d+$|^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$|^(run|execution)-")


@pytest.mark.django_db
def test_no_metric_carries_an_id_or_a_label_outside_the_schema(django_capture_on_commit_callbacks):
    tenant = TenantFactory(slug="acme")
    execution_id = "5f0c2a5e-8a1b-4c5e-9d52-3b7c1f0e9a11"
    emit_committed(
        django_capture_on_commit_callbacks,
        DomainEvent("execution.started", tenant.pk, execution_id, {"workflow": "onboarding"}),
        DomainEvent(
            "step.completed", tenant.pk, execution_id, {"node_id": "n42", "node_type": "LLMNode", "seconds": 1}
        ),
        DomainEvent("approval.requested", tenant.pk, execution_id, {"approval_id": 42, "node_id": "n42"}),
        DomainEvent(
            "approval.decided", tenant.pk, execution_id, {"approval_id": 42, "status": "approved", "seconds": 9}
        ),
        DomainEvent(
            "llm.usage",
            tenant.pk,
            execution_id,
            {"provider": "openai", "model": "gpt-4o-mini", "status": "ok", "input_tokens": 1, "cost": 0.1},
        ),
        DomainEvent(
            "execution.completed",
            tenant.pk,
            execution_id,
            {"status": "completed", "workflow": "onboarding", "seconds": 2},
        ),
    )
    metrics.record_webhook_event(tenant_id=tenant.pk, status="accepted")
    metrics.record_queue_job(queue=f"tenant-{tenant.pk}-process-image", status="completed")

    samples = scrape()
    assert {name.removesuffix("_total") for name in samples} >= {"mono_executions", "mono_llm_cost_usd"}
    allowed = set(metrics.LABELS) | {"le"}
    for name, series in samples.items():
        for labels in series:
            assert {label for label, _ in labels} <= allowed, name
            values = {value for label, value in labels if label != "le"}
            assert not {value for value in values if ID_LIKE.match(value)}, (name, labels)
            assert not values & {str(tenant.pk), execution_id, "n42", "42"}, (name, labels)


# Real runs -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_workflow_run_through_the_workers_is_counted(workers, acme):  # noqa: F811
    execution = wait_result(start(acme, graphs.PARALLEL, {"key": "k"}))
    assert execution.status == "completed"

    samples = scrape()
    assert samples["mono_executions_total"] == {
        labelset(tenant="acme", workflow="test", status="started"): 1,
        labelset(tenant="acme", workflow="test", status="completed"): 1,
    }
    assert samples["mono_execution_duration_seconds_count"] == {
        labelset(tenant="acme", workflow="test", status="completed"): 1
    }
    assert samples["mono_steps_total"][labelset(node_type="UpdateRecordNode", status="completed")] == 2
    assert samples["mono_step_duration_seconds_count"][labelset(node_type="UpdateRecordNode", status="completed")] == 2


@pytest.mark.django_db(transaction=True)
def test_an_approval_decided_through_the_workers_leaves_nothing_pending(workers, acme):  # noqa: F811
    execution = start(acme, graphs.approval_graph(), {"key": "a"})
    approval = open_approval_of(execution)
    assert scrape()["mono_approvals_pending"] == {labelset(tenant="acme"): 1}

    approvals.approval_decide(approval=approval, user=user("ada"), decision="approve")
    assert wait_result(execution).status == "completed"
    samples = scrape()
    assert samples["mono_approvals_pending"] == {labelset(tenant="acme"): 0}
    assert samples["mono_approval_decision_seconds_count"] == {labelset(tenant="acme", status="approved"): 1}


# The worker process's ports ------------------------------------------------------------------


def start_runworkers(*, health_port: int, sdk_port: int):
    """`manage.py runworkers` with both metrics ports set through the environment, once hosting."""
    process = spawn_manage(
        "runworkers",
        "--health-host",
        "127.0.0.1",
        TEMPORAL_WORKER_HEALTH_PORT=str(health_port),
        TEMPORAL_WORKER_SDK_METRICS_PORT=str(sdk_port),
        # Tenant queues are polled on demand; this one always, so its slots show without work.
        TEMPORAL_WORKER_STANDING_QUEUES="workflows",
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    deadline = time.monotonic() + 30
    while not any(line.startswith("Hosting") for line in lines):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"runworkers did not start: {process.stderr.read()}")
        time.sleep(0.05)
    return process, lines


def fetch(port: int, path: str) -> str:
    return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read().decode()


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.django_db(transaction=True)
def test_runworkers_serves_business_metrics_and_the_sdk_metrics_on_their_ports():
    tenant = tenant_services.tenant_create(name="Acme", slug="acme")
    health_port, sdk_port = free_port(), free_port()
    process, lines = start_runworkers(health_port=health_port, sdk_port=sdk_port)
    try:
        assert f"Temporal SDK metrics: http://127.0.0.1:{sdk_port}/metrics\n" in lines

        business = fetch(health_port, "/metrics")
        assert "# TYPE mono_executions_total counter" in business
        assert "# TYPE mono_approvals_pending gauge" in business

        def sdk_families() -> dict:
            text = fetch(sdk_port, "/metrics")
            return {family.name: family for family in text_string_to_metric_families(text)}

        deadline = time.monotonic() + 15
        while "temporal_num_pollers" not in (families := sdk_families()) and time.monotonic() < deadline:
            time.sleep(0.2)
        # The names the queues dashboard uses: counters with `_total`, durations in seconds.
        assert {
            "temporal_num_pollers",
            "temporal_worker_task_slots_available",
            "temporal_worker_task_slots_used",
        } <= set(families)
        assert any(sample.name == "temporal_request_total" for sample in families["temporal_request"].samples)
        assert any(
            sample.name == "temporal_request_latency_seconds_bucket"
            for sample in families["temporal_request_latency_seconds"].samples
        )
        served = {
            (sample.labels.get("namespace"), sample.labels.get("task_queue"))
            for sample in families["temporal_worker_task_slots_available"].samples
        }
        assert (tenant_namespace(tenant.pk), "workflows") in served
    finally:
        stop(process)


@pytest.mark.django_db(transaction=True)
def test_runworkers_runs_on_without_sdk_metrics_when_their_port_is_taken():
    tenant_services.tenant_create(name="Acme", slug="acme")
    health_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process, lines = start_runworkers(health_port=health_port, sdk_port=taken.getsockname()[1])
        try:
            assert not any(line.startswith("Temporal SDK metrics") for line in lines)
            assert '"healthy": true' in fetch(health_port, "/healthz")
        finally:
            stop(process)
        assert "Temporal SDK metrics are off" in process.stderr.read()
