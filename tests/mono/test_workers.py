"""The worker host (`runworkers`' TemporalWorkerManager) against real Temporal and PostgreSQL."""

import json
import signal
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from temporalio.api.enums.v1 import EventType

from mono.temporal import queues, sync
from mono.temporal.client import get_tenant_client, platform_namespace, tenant_namespace
from mono.temporal.devserver import free_port
from mono.temporal.interceptors import with_fresh_connections
from mono.temporal.registry import Registration
from mono.temporal.workers import Shard, TenantRef, WorkerSelection
from tenants import selectors, services
from tenants.models import Role
from tests.factories import UserFactory
from tests.support import slow
from tests.support.process import spawn_manage

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_tenant_workflow_reads_its_tenant_rows_through_hosted_worker(start_workers):
    tenant = services.tenant_create(name="Acme", slug="acme", owner=UserFactory(username="alice"))
    services.membership_add(tenant=tenant, user=UserFactory(username="bob"), role=Role.EDITOR)
    other = services.tenant_create(name="Globex", slug="globex", owner=UserFactory(username="gina"))
    start_workers(tenant_source=selectors.active_tenant_refs)

    result = services.tenant_probe_run(tenant=tenant)

    assert result.slug == "acme"
    assert result.members_by_role == {"editor": 1, "owner": 1}
    assert services.tenant_probe_run(tenant=other).members_by_role == {"owner": 1}


def test_platform_namespace_is_served(start_workers):
    services.tenant_create(name="Acme", slug="acme")
    manager = start_workers(tenant_source=selectors.active_tenant_refs)
    assert (platform_namespace(), queues.PLATFORM.name()) in manager.hosted
    assert services.platform_probe_run().active_tenants == 1


def test_idle_tenants_cost_no_worker_until_work_is_started(start_workers):
    tenant = services.tenant_create(name="Quiet", slug="quiet")
    manager = start_workers(tenant_source=selectors.active_tenant_refs)
    assert tenant_namespace(tenant.pk) not in {ns for ns, _ in manager.hosted}
    assert services.tenant_probe_run(tenant=tenant).slug == "quiet"
    assert (tenant_namespace(tenant.pk), queues.WORKFLOWS.name(tenant.pk)) in manager.hosted


def test_tenant_created_while_running_is_picked_up_without_restart(start_workers):
    manager = start_workers(tenant_source=selectors.active_tenant_refs)
    tenant = services.tenant_create(name="Late", slug="late")
    key = (tenant_namespace(tenant.pk), queues.WORKFLOWS.name(tenant.pk))
    # Work for it is taken as soon as the next refresh knows the tenant.
    wait_for(lambda: services.tenant_probe_run(tenant=tenant).slug == "late", what="the new tenant's probe")
    assert key in manager.hosted


def test_deactivated_tenant_workers_are_stopped(start_workers):
    tenant = services.tenant_create(name="Gone", slug="gone")
    manager = start_workers(tenant_source=selectors.active_tenant_refs)
    key = (tenant_namespace(tenant.pk), queues.WORKFLOWS.name(tenant.pk))
    services.tenant_probe_run(tenant=tenant)
    assert key in manager.hosted
    services.tenant_update(tenant=tenant, is_active=False)
    wait_for(lambda: key not in manager.hosted, what="the worker to stop")


def test_shard_hosts_only_its_tenants(start_workers):
    tenants = [services.tenant_create(name=f"T{i}", slug=f"t{i}") for i in range(4)]
    # Explicitly named queues are standing: every tenant of the shard is polled from the start.
    manager = start_workers(
        tenant_source=selectors.active_tenant_refs,
        selection=WorkerSelection(platform=False, shard=Shard.parse("2/2"), queues=frozenset({"workflows"})),
    )
    hosted_namespaces = {namespace for namespace, _ in manager.hosted}
    assert hosted_namespaces == {tenant_namespace(t.pk) for t in tenants if t.pk % 2 == 1}


def test_queue_selection_limits_hosted_queues(start_workers):
    tenant = services.tenant_create(name="Acme", slug="acme")
    manager = start_workers(
        tenant_source=selectors.active_tenant_refs, selection=WorkerSelection(queues=frozenset({"platform"}))
    )
    assert manager.hosted == {(platform_namespace(), "platform")}
    assert tenant_namespace(tenant.pk) not in {ns for ns, _ in manager.hosted}


def history_event_types(client, workflow_id: str) -> list[int]:
    async def fetch():
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        return [event.event_type for event in history.events]

    return sync.run(fetch)


def test_graceful_stop_lets_in_flight_activity_finish_and_hands_back_the_rest(start_workers):
    tenant = services.tenant_create(name="Acme", slug="acme")
    registrations = [Registration(queues.WORKFLOWS, workflows=(slow.SlowWorkflow,), activities=(slow.slow_step,))]
    refs = lambda: [TenantRef(tenant.pk)]  # noqa: E731
    manager = start_workers(tenant_source=refs, registrations=registrations)
    slow.started.clear()
    slow.finished.clear()

    async def start():
        client = await get_tenant_client(tenant)
        await client.start_workflow(
            slow.SlowWorkflow.run, slow.SlowInput(tenant.pk), id="slow-1", task_queue=queues.WORKFLOWS.name(tenant.pk)
        )
        return client

    client = sync.run(start)
    assert slow.started.wait(15)
    manager.request_stop()
    assert manager.stopped.wait(30)

    assert slow.finished == [tenant.pk]  # the activity in flight completed, it was not cancelled
    events = history_event_types(client, "slow-1")
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in events
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED not in events

    start_workers(tenant_source=refs, registrations=registrations)  # the run resumes on a new host
    assert sync.run(lambda: client.get_workflow_handle("slow-1").result()) == "done"
    assert slow.finished == [tenant.pk]  # and the activity did not run twice


def test_activity_threads_get_fresh_database_connections():
    def query():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    def connection_open() -> bool:
        return connection.connection is not None

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(query).result()
        assert pool.submit(connection_open).result()  # plain thread keeps its connection
        pool.submit(lambda: connection.close()).result()
        pool.submit(with_fresh_connections(query)).result()
        assert not pool.submit(connection_open).result()  # closed after the activity (CONN_MAX_AGE=0)


def test_runworkers_serves_health_and_stops_on_sigterm():
    tenant = services.tenant_create(name="Acme", slug="acme")
    port = free_port()
    process = spawn_manage("runworkers", "--health-port", str(port), "--health-host", "127.0.0.1")
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
        reader.start()
        wait_for(lambda: any(line.startswith("Hosting") for line in lines), timeout=30, what="runworkers to start")

        report = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5))
        hosted = {(w["namespace"], w["task_queue"]) for w in report["workers"] if w["running"]}
        assert report["healthy"] is True
        assert (platform_namespace(), "platform") in hosted
        # An idle tenant costs no worker until work is started; then the process starts one.
        assert tenant_namespace(tenant.pk) not in {namespace for namespace, _ in hosted}
        assert services.tenant_probe_run(tenant=tenant).slug == "acme"
        report = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5))
        hosted = {(w["namespace"], w["task_queue"]) for w in report["workers"] if w["running"]}
        assert (tenant_namespace(tenant.pk), "workflows") in hosted
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert "process_resident_memory_bytes" in metrics

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert time.monotonic() - started < 15
        reader.join(5)
        assert "Workers stopped." in "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()


def test_workers_health_command_reports_pollers_and_fails_on_unserved_queue(start_workers, capsys, settings):
    from mono.temporal.queues import Scope
    from mono.temporal.registry import registrations

    settings.TEMPORAL_WORKER_STANDING_QUEUES = ["workflows"]  # an operator keeps `workflows` polled
    tenant_queues = len(registrations(Scope.TENANT))
    standing_tenant_queues = 1  # the others start on demand
    platform_queues = len(registrations(Scope.PLATFORM))
    served = services.tenant_create(name="Acme", slug="acme")
    start_workers(tenant_source=lambda: [TenantRef(served.pk)])

    def all_served() -> bool:  # a started worker shows up in Temporal once its first poll lands
        try:
            call_command("workers_health")
        except CommandError:
            return False
        return True

    wait_for(all_served, what="every queue to be polled")
    out = capsys.readouterr().out.rsplit("mono-platform / platform", 1)[-1]
    assert f"{tenant_namespace(served.pk)} / workflows: " in out
    assert "last poll 20" in out
    assert f"{tenant_namespace(served.pk)} / tenant-{served.pk}-send-email: idle (started on demand)" in out
    on_demand = tenant_queues - standing_tenant_queues
    assert f"All {platform_queues + standing_tenant_queues} standing task queues have workers ({on_demand} more" in out

    unserved = services.tenant_create(name="Nobody", slug="nobody")  # this host does not serve it
    total = platform_queues + 2 * standing_tenant_queues
    with pytest.raises(CommandError, match=f"1 of {total} standing task queues have no worker"):
        call_command("workers_health")
    assert f"{tenant_namespace(unserved.pk)} / workflows: NO POLLERS" in capsys.readouterr().out


def test_probe_command_answers_through_the_workers(start_workers, capsys):
    tenant = services.tenant_create(name="Acme", slug="acme", owner=UserFactory(username="alice"))
    start_workers(tenant_source=selectors.active_tenant_refs)
    call_command("probe_workers", "--tenant", tenant.slug)
    assert "tenant acme: members by role {'owner': 1}" in capsys.readouterr().out
