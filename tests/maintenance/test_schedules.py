"""Platform Temporal Schedules: `sync_schedules` is idempotent, and the schedules really fire."""

import io
import json
import tarfile

import pytest
from django.core.management import call_command
from temporalio.client import ScheduleActionStartWorkflow

from maintenance.services.schedules import platform_schedules
from mono.temporal import sync
from mono.temporal.client import get_platform_client, get_tenant_client
from mono.temporal.schedules import schedule_delete
from tests.maintenance.conftest import tenant
from tests.maintenance.test_housekeeping import history
from tests.workflows import graphs
from tests.workflows.conftest import wait_until
from workflows.models import WorkflowExecution
from workflows.services import definitions, schedules

IDS = ["mono-housekeeping", "mono-orphaned-media-cleanup", "mono-tenant-backups"]


@pytest.fixture
def no_platform_schedules(platform_namespace):
    """The dev server outlives each test: start and end without platform schedules."""

    async def clear():
        client = await get_platform_client()
        for wanted in platform_schedules():
            await schedule_delete(client, wanted.schedule_id)

    sync.run(clear)
    yield
    sync.run(clear)


def sync_schedules() -> dict[str, str]:
    out = io.StringIO()
    call_command("sync_schedules", stdout=out)
    return dict(line.split(": ") for line in out.getvalue().splitlines())


def describe(schedule_id: str):
    async def call():
        return await (await get_platform_client()).get_schedule_handle(schedule_id).describe()

    return sync.run(call)


def trigger(schedule_id: str) -> None:
    async def call():
        await (await get_platform_client()).get_schedule_handle(schedule_id).trigger()

    sync.run(call)


@pytest.mark.django_db
def test_sync_schedules_creates_the_platform_schedules_then_leaves_them_alone(no_platform_schedules):
    assert sync_schedules() == dict.fromkeys(IDS, "created")

    actions = {schedule_id: describe(schedule_id).schedule.action for schedule_id in IDS}
    assert all(isinstance(action, ScheduleActionStartWorkflow) for action in actions.values())
    assert {schedule_id: (a.workflow, a.task_queue) for schedule_id, a in actions.items()} == {
        "mono-housekeeping": ("Housekeeping", "global-housekeeping"),
        "mono-orphaned-media-cleanup": ("OrphanedMediaCleanup", "global-cleanup-orphaned"),
        "mono-tenant-backups": ("NightlyBackups", "global-housekeeping"),
    }
    assert actions["mono-orphaned-media-cleanup"].args == []  # started with no argument
    assert {m.hour for m in describe("mono-housekeeping").info.next_action_times} == {3}  # 17 3 * * *

    assert sync_schedules() == dict.fromkeys(IDS, "unchanged")


@pytest.mark.django_db
def test_a_changed_cron_updates_only_that_schedule_and_keeps_its_pause(no_platform_schedules, settings):
    sync_schedules()

    async def pause():
        await (await get_platform_client()).get_schedule_handle("mono-housekeeping").pause(note="maintenance window")

    sync.run(pause)
    settings.HOUSEKEEPING_CRON = "0 5 * * *"

    assert sync_schedules() == {
        "mono-housekeeping": "updated",
        "mono-orphaned-media-cleanup": "unchanged",
        "mono-tenant-backups": "unchanged",
    }
    described = describe("mono-housekeeping")
    assert {m.hour for m in described.info.next_action_times} == {5}
    assert described.schedule.state.paused and described.schedule.state.note == "maintenance window"
    assert sync_schedules()["mono-housekeeping"] == "unchanged"


@pytest.mark.django_db(transaction=True)
def test_the_backup_schedule_archives_every_active_tenant(no_platform_schedules, platform_workers, backup_root):
    acme = tenant("Acme", "acme", owner="alice")
    globex = tenant("Globex", "globex", owner="gina")
    dormant = tenant("Dormant", "dormant")
    dormant.is_active = False
    dormant.save()
    sync_schedules()

    trigger("mono-tenant-backups")

    def archives():
        found = sorted(backup_root.glob("tenants/*/*.tar.gz"))
        return found if len(found) == 2 else None

    found = wait_until(archives, timeout=30, what="two archives")
    assert {path.parent.name for path in found} == {"acme", "globex"}
    with tarfile.open(found[0]) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["tenant"]["slug"] in {acme.slug, globex.slug}
    assert manifest["counts"]["tenants.membership"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_housekeeping_schedule_purges_expired_history(no_platform_schedules, platform_workers):
    short = tenant("Short", "short", retention_days=30)
    expired, recent = history(short, age_days=90), history(short, age_days=1)
    sync_schedules()

    trigger("mono-housekeeping")

    wait_until(lambda: not WorkflowExecution.objects.filter(pk=expired.pk).exists(), timeout=30, what="the purge")
    assert WorkflowExecution.objects.filter(pk=recent.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_sync_schedules_with_workflows_recreates_a_lost_workflow_schedule(no_platform_schedules):
    acme = tenant("Acme", "acme", owner="alice")
    start = graphs.node("start", "StartNode", trigger="schedule", cron="0 9 * * *")
    definition = definitions.definition_create(
        tenant=acme, name="Daily", graph=graphs.graph(start, graphs.END, graphs.edge("start", "end"))
    )
    sid = schedules.schedule_id(definition.pk)

    async def lose():
        await schedule_delete(await get_tenant_client(acme.pk), sid)

    sync.run(lose)
    out = io.StringIO()
    call_command("sync_schedules", "--workflows", stdout=out)

    assert f"{acme.pk}/{sid}: created" in out.getvalue().splitlines()
    assert schedules.schedule_describe(definition=definition)["cron"] == "0 9 * * *"
