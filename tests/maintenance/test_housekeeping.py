"""Retention housekeeping: the real `Housekeeping` workflow on real workers, per-tenant retention."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from temporalio.worker import Replayer

from llm.models import LLMUsage
from maintenance.services.housekeeping import tenant_purge_expired
from maintenance.temporal.types import HousekeepingInput, HousekeepingResult
from maintenance.temporal.workflows import HousekeepingWorkflow
from mono.temporal import queues, sync
from mono.temporal.client import get_platform_client, get_tenant_client
from mono.temporal.schedules import schedule_delete
from tests.factories import UserFactory
from tests.maintenance.conftest import tenant
from tests.workflows import graphs
from tests.workflows.graphs import LINEAR_EMAIL
from webhooks.models import Integration, WebhookEvent
from workflows.models import (
    ApprovalDecision,
    ApprovalRequest,
    ExecutionEvent,
    ExecutionStatus,
    StepExecution,
    WorkflowDefinition,
    WorkflowExecution,
)
from workflows.services import definitions, schedules


def history(owner, *, age_days: int, status: str = ExecutionStatus.COMPLETED) -> WorkflowExecution:
    """One run with a step, an event, an approval and its decision, an LLM usage row and a webhook
    event, all `age_days` old."""
    definition = WorkflowDefinition.objects.for_tenant(owner).first() or definitions.definition_create(
        tenant=owner, name="Flow", graph=LINEAR_EMAIL
    )
    execution = WorkflowExecution.objects.create(
        tenant=owner, definition=definition, version=definition.latest_version, status=status
    )
    StepExecution.objects.create(
        tenant=owner, execution=execution, node_id="start", node_type="StartNode", status="completed"
    )
    ExecutionEvent.objects.create(tenant=owner, execution=execution, seq=1, kind="execution.started", at=timezone.now())
    approval = ApprovalRequest.objects.create(
        tenant=owner, execution=execution, node_id="ok", approvers=["boss"], eligible_usernames=["boss"]
    )
    ApprovalDecision.objects.create(
        tenant=owner, approval=approval, user=UserFactory(username="boss"), decision="approve"
    )
    usage = LLMUsage.objects.create(
        tenant=owner, scope="workflow", provider="openai", model="gpt-4o", status="ok", execution_id=execution.pk
    )
    integration = Integration.objects.filter(tenant=owner).first() or Integration.objects.create(
        tenant=owner, name="Hook", slug=f"hook-{owner.slug}", workflow=definition, signing_secret_encrypted="x"
    )
    event = WebhookEvent.objects.create(
        tenant=owner, integration=integration, event_id=uuid.uuid4().hex, body={}, execution=execution
    )
    then = timezone.now() - timedelta(days=age_days)
    finished = status in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED)
    WorkflowExecution.objects.filter(pk=execution.pk).update(created_at=then, finished_at=then if finished else None)
    LLMUsage.objects.filter(pk=usage.pk).update(created_at=then)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=then)
    return execution


def run_housekeeping(**fields) -> HousekeepingResult:
    """Run the workflow to its end, then replay the last run's history against today's code."""

    async def run():
        client = await get_platform_client()
        workflow_id = f"housekeeping-test-{uuid.uuid4().hex}"
        result = await client.execute_workflow(
            "Housekeeping",
            HousekeepingInput(**fields),
            id=workflow_id,
            task_queue=queues.HOUSEKEEPING.name(),
            result_type=HousekeepingResult,
        )
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        await Replayer(workflows=[HousekeepingWorkflow], data_converter=client.data_converter).replay_workflow(history)
        return result

    return sync.run(run, timeout=60)


@pytest.mark.django_db(transaction=True)
def test_housekeeping_deletes_only_finished_history_older_than_each_tenants_retention(platform_workers):
    short = tenant("Short", "short", retention_days=30)
    long = tenant("Long", "long", retention_days=365)
    expired = history(short, age_days=100)
    failed_expired = history(short, age_days=40, status=ExecutionStatus.FAILED)
    running_for_ages = history(short, age_days=400, status=ExecutionStatus.RUNNING)
    recent = history(short, age_days=10)
    kept_by_longer_retention = history(long, age_days=100)

    result = run_housekeeping(page_size=1)  # one tenant per run: continue-as-new is exercised too

    remaining = set(WorkflowExecution.objects.values_list("pk", flat=True))
    assert remaining == {running_for_ages.pk, recent.pk, kept_by_longer_retention.pk}
    assert not remaining & {expired.pk, failed_expired.pk}
    assert result.tenants == 2
    assert result.deleted["workflows.WorkflowExecution"] == 2
    assert result.deleted["workflows.StepExecution"] == 2
    assert result.deleted["workflows.ExecutionEvent"] == 2
    assert result.deleted["workflows.ApprovalRequest"] == 2
    assert result.deleted["workflows.ApprovalDecision"] == 2
    # Usage rows and webhook events age on their own dates: the running run's are 400 days old.
    assert result.deleted["llm.LLMUsage"] == 3
    assert result.deleted["webhooks.WebhookEvent"] == 3
    assert set(LLMUsage.objects.values_list("execution_id", flat=True)) == {recent.pk, kept_by_longer_retention.pk}
    assert StepExecution.objects.filter(execution__in=[running_for_ages, recent]).count() == 2

    again = run_housekeeping()
    assert sum(again.deleted.values()) == 0
    assert WorkflowExecution.objects.count() == 3


@pytest.mark.django_db
def test_purge_deletes_in_bounded_batches_and_reports_every_model():
    short = tenant("Short", "short", retention_days=30)
    for _ in range(5):
        history(short, age_days=60)
    batches = []

    deleted = tenant_purge_expired(tenant_id=short.pk, batch_size=2, on_batch=lambda: batches.append(1))

    assert deleted["workflows.WorkflowExecution"] == 5
    assert deleted["llm.LLMUsage"] == 5
    assert deleted["webhooks.WebhookEvent"] == 5
    assert len(batches) == 9  # 3 batches (2 + 2 + 1) for each of the three rules
    assert WorkflowExecution.objects.for_tenant(short).count() == 0
    assert tenant_purge_expired(tenant_id=short.pk) == {}


@pytest.mark.django_db(transaction=True)
def test_housekeeping_recreates_a_workflow_schedule_whose_sync_was_lost(platform_workers):
    acme = tenant("Acme", "acme", owner="alice")
    start = graphs.node("start", "StartNode", trigger="schedule", cron="0 9 * * *")
    daily = definitions.definition_create(
        tenant=acme, name="Daily", graph=graphs.graph(start, graphs.END, graphs.edge("start", "end"))
    )
    definitions.definition_create(tenant=acme, name="Manual", graph=LINEAR_EMAIL)
    sid = schedules.schedule_id(daily.pk)

    async def lose():  # as if Temporal had been down when the definition was saved
        await schedule_delete(await get_tenant_client(acme.pk), sid)

    sync.run(lose)

    result = run_housekeeping()

    assert result.schedules_repaired == 1 and result.failed_tenant_ids == []
    assert schedules.schedule_describe(definition=daily)["cron"] == "0 9 * * *"
    assert run_housekeeping().schedules_repaired == 0  # nothing left to repair
