"""On-demand workers and incremental tenant refresh, against real Temporal and PostgreSQL.

A tenant's queues have no poller until work is started there; the start announces itself
(LISTEN/NOTIFY), the host starts the worker, and stops it again when idle.
"""

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from temporalio.common import WorkflowIDReusePolicy

from mono.temporal import queues, sync
from mono.temporal.client import get_tenant_client, tenant_namespace
from mono.temporal.registry import Registration
from mono.temporal.workers import Shard, WorkerSelection
from tenants import selectors, services
from tenants.temporal.activities import tenant_probe
from tenants.temporal.types import TenantProbeInput
from tenants.temporal.workflows import TenantProbeWorkflow

pytestmark = pytest.mark.django_db(transaction=True)

# The probe on a queue without a standing poller stands in for an image or e-mail job.
REGISTRATIONS = [
    Registration(queues.WORKFLOWS, workflows=(TenantProbeWorkflow,), activities=(tenant_probe,)),
    Registration(queues.SEND_EMAIL, workflows=(TenantProbeWorkflow,), activities=(tenant_probe,)),
]


def wait_for(predicate, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def start_probe(tenant_id: int, *, workflow_id: str):
    """Start the probe on the tenant's e-mail queue through the ordinary client; its handle."""

    async def start():
        client = await get_tenant_client(tenant_id)
        return await client.start_workflow(
            TenantProbeWorkflow.run,
            TenantProbeInput(tenant_id=tenant_id),
            id=workflow_id,
            task_queue=queues.SEND_EMAIL.name(tenant_id),
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            execution_timeout=timedelta(seconds=30),
        )

    return sync.run(start)


def result_of(handle, timeout: float = 20.0):
    return sync.run(handle.result, timeout=timeout)


def email_key(tenant_id: int):
    return (tenant_namespace(tenant_id), queues.SEND_EMAIL.name(tenant_id))


def test_queue_without_work_has_no_worker_until_a_job_is_started_then_idles_out(start_workers):
    tenant = services.tenant_create(name="Acme", slug="acme")
    manager = start_workers(tenant_source=selectors.active_tenant_refs, registrations=REGISTRATIONS, idle_seconds=1.0)
    assert tenant_namespace(tenant.pk) not in {ns for ns, _ in manager.hosted}

    started = time.monotonic()
    handle = start_probe(tenant.pk, workflow_id="probe-demand-1")
    assert result_of(handle).slug == "acme"
    first_job = time.monotonic() - started
    assert first_job < 3.0, f"first job on an idle queue took {first_job:.1f} s"
    assert email_key(tenant.pk) in manager.hosted

    # No activity and no open workflow for the idle time: the worker goes away.
    wait_for(lambda: email_key(tenant.pk) not in manager.hosted, what="the idle worker to stop")
    # And comes back for the next job.
    assert result_of(start_probe(tenant.pk, workflow_id="probe-demand-2")).slug == "acme"


def test_work_started_while_no_host_listened_is_found_when_a_host_starts(start_workers):
    tenant = services.tenant_create(name="Early", slug="early")
    handle = start_probe(tenant.pk, workflow_id="probe-before-host")  # nobody listens yet
    time.sleep(1.0)  # visibility catches up with the start

    manager = start_workers(tenant_source=selectors.active_tenant_refs, registrations=REGISTRATIONS)

    assert result_of(handle).slug == "early"
    assert email_key(tenant.pk) in manager.hosted


def test_another_shards_tenant_is_not_started_on_demand(start_workers):
    tenants = [services.tenant_create(name=f"T{i}", slug=f"t{i}") for i in range(2)]
    manager = start_workers(
        tenant_source=selectors.active_tenant_refs,
        registrations=REGISTRATIONS,
        selection=WorkerSelection(platform=False, shard=Shard.parse("1/2")),
    )
    mine = next(t for t in tenants if Shard.parse("1/2").owns(t.pk))
    theirs = next(t for t in tenants if not Shard.parse("1/2").owns(t.pk))
    assert result_of(start_probe(mine.pk, workflow_id="probe-mine")).slug == mine.slug
    start_probe(theirs.pk, workflow_id="probe-theirs")
    time.sleep(1.0)
    assert email_key(theirs.pk) not in manager.hosted


@override_settings(TEMPORAL_WORKER_FULL_REFRESH_SECONDS=3600)
def test_refresh_reads_only_changed_tenants_and_still_sees_new_and_deactivated_ones(start_workers):
    calls = {"full": 0, "changes": 0}

    def full():
        calls["full"] += 1
        return selectors.active_tenant_refs()

    def changes(since):
        calls["changes"] += 1
        return selectors.tenant_refs_changed_since(since)

    old = services.tenant_create(name="Old", slug="old")
    manager = start_workers(
        tenant_source=full,
        tenant_changes=changes,
        registrations=REGISTRATIONS,
        selection=WorkerSelection(queues=frozenset({"workflows"})),  # standing: hosted as soon as known
    )
    workflows_key = (tenant_namespace(old.pk), queues.WORKFLOWS.name(old.pk))
    assert workflows_key in manager.hosted

    new = services.tenant_create(name="New", slug="new")
    new_key = (tenant_namespace(new.pk), queues.WORKFLOWS.name(new.pk))
    wait_for(lambda: new_key in manager.hosted, what="the new tenant's worker")
    services.tenant_update(tenant=old, is_active=False)
    wait_for(lambda: workflows_key not in manager.hosted, what="the deactivated tenant's worker to stop")

    assert calls["full"] == 1
    assert calls["changes"] >= 2


def test_changed_since_pages_through_every_change_in_order():
    tenants = [services.tenant_create(name=f"P{i}", slug=f"p{i}") for i in range(7)]
    services.tenant_update(tenant=tenants[2], is_active=False)
    since = min(t.updated_at for t in tenants) - timedelta(seconds=1)

    refs = selectors.tenant_refs_changed_since(since, page_size=3)

    assert sorted(ref.id for ref in refs) == sorted(t.pk for t in tenants)
    assert [ref.active for ref in refs if ref.id == tenants[2].pk] == [False]
    later = selectors.tenant_refs_changed_since(max(ref.updated_at for ref in refs) + timedelta(seconds=1))
    assert later == []


def test_a_tenant_with_a_schedule_keeps_its_workflows_worker(start_workers):
    from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleSpec, ScheduleState

    tenant = services.tenant_create(name="Cron", slug="cron")
    manager = start_workers(tenant_source=selectors.active_tenant_refs, registrations=REGISTRATIONS, idle_seconds=0.5)
    workflows_key = (tenant_namespace(tenant.pk), queues.WORKFLOWS.name(tenant.pk))

    async def create():
        client = await get_tenant_client(tenant.pk)
        await client.create_schedule(
            "probe-nightly",
            Schedule(
                action=ScheduleActionStartWorkflow(
                    TenantProbeWorkflow.run,
                    TenantProbeInput(tenant_id=tenant.pk),
                    id="probe-nightly",
                    task_queue=queues.WORKFLOWS.name(tenant.pk),
                ),
                spec=ScheduleSpec(cron_expressions=["0 3 * * *"]),
                state=ScheduleState(paused=True),
            ),
        )

    sync.run(create)
    # The schedule starts runs from the server with nobody announcing them: its worker stays.
    wait_for(lambda: workflows_key in manager.hosted, what="the scheduled queue's worker")
    time.sleep(1.5)  # three idle periods
    assert workflows_key in manager.hosted


def test_a_job_for_a_tenant_created_after_the_last_refresh_is_not_lost(start_workers):
    manager = start_workers(
        tenant_source=selectors.active_tenant_refs,
        tenant_changes=selectors.tenant_refs_changed_since,
        registrations=REGISTRATIONS,
        refresh_seconds=60,  # the next scheduled refresh is far away
    )
    tenant = services.tenant_create(name="Brand new", slug="brand-new")

    handle = start_probe(tenant.pk, workflow_id="probe-brand-new")  # announced once, never again

    assert result_of(handle, timeout=10).slug == "brand-new"
    assert email_key(tenant.pk) in manager.hosted
