"""Workflows with `trigger: schedule`: cron validation, their Temporal Schedule kept in step with
the definition, fires that record real executions, and the schedule API."""

from datetime import UTC, datetime

import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.service import RPCError, RPCStatusCode

from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tests.workflows import graphs
from tests.workflows.conftest import api_as, wait_result, wait_until
from workflows.graph.validation import validate_definition
from workflows.models import ExecutionStatus, WorkflowExecution
from workflows.services import definitions, executions, schedules


def scheduled(cron: str | None = "0 9 * * 1-5", **data) -> dict:
    start = graphs.node("start", "StartNode", trigger="schedule", **({"cron": cron} if cron else {}), **data)
    return graphs.graph(start, graphs.END, graphs.edge("start", "end"))


def describe(tenant, definition_id: int):
    async def call():
        client = await get_tenant_client(tenant.pk)
        return await client.get_schedule_handle(schedules.schedule_id(definition_id)).describe()

    return sync.run(call)


def schedule_exists(tenant, definition_id: int) -> bool:
    try:
        describe(tenant, definition_id)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def hours_of(description) -> set[int]:
    return {moment.astimezone(UTC).hour for moment in description.info.next_action_times}


# Validation (pure) -------------------------------------------------------------------------------


def start_errors(graph) -> list[tuple[str, str]]:
    return [(e.code, e.field) for e in validate_definition(graph) if e.node_id == "start"]


def test_a_schedule_trigger_without_cron_names_the_cron_field():
    assert start_errors(scheduled(cron=None)) == [("missing_field", "cron")]


@pytest.mark.parametrize("cron", ["61 * * * *", "* * * *", "0 0 * * * *", "every day", 5])
def test_an_invalid_cron_is_refused_naming_the_cron_field(cron):
    assert start_errors(scheduled(cron=cron)) == [("invalid_cron", "cron")]


def test_an_unknown_timezone_is_refused():
    assert start_errors(scheduled(timezone="Mars/Olympus")) == [("invalid_timezone", "timezone")]


@pytest.mark.parametrize("cron", ["0 9 * * 1-5", "*/15 * * * *", "@daily", "30 6 1 * *"])
def test_valid_crons_and_timezones_pass(cron):
    assert start_errors(scheduled(cron=cron, timezone="Europe/Paris")) == []


def test_manual_and_webhook_triggers_need_no_cron():
    assert start_errors(graphs.LINEAR_EMAIL) == []


# The schedule follows the definition ------------------------------------------------------------------


def test_a_scheduled_definition_gets_a_schedule_in_its_tenants_namespace(acme):
    created = api_as(acme, "erin").post(
        "/api/v1/workflows", {"name": "Daily", "definition": scheduled("0 9 * * *")}, format="json"
    )
    assert created.status_code == 201

    description = describe(acme, created.json()["id"])
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("ScheduledWorkflowRun", "workflows")
    assert not description.schedule.state.paused
    assert hours_of(description) == {9}


def test_changing_the_cron_updates_the_schedule_and_dropping_the_trigger_deletes_it(acme):
    api = api_as(acme, "erin")
    definition_id = api.post("/api/v1/workflows", {"name": "D", "definition": scheduled("0 9 * * *")}, format="json")
    definition_id = definition_id.json()["id"]

    changed = api.patch(f"/api/v1/workflows/{definition_id}", {"definition": scheduled("0 17 * * *")}, format="json")
    assert changed.status_code == 200
    assert hours_of(describe(acme, definition_id)) == {17}
    assert api.get(f"/api/v1/workflows/{definition_id}/schedule").json()["cron"] == "0 17 * * *"

    zoned = scheduled("0 17 * * *", timezone="America/New_York")
    api.patch(f"/api/v1/workflows/{definition_id}", {"definition": zoned}, format="json")
    assert hours_of(describe(acme, definition_id)) <= {21, 22}  # 17:00 in New York, DST or not

    api.patch(f"/api/v1/workflows/{definition_id}", {"definition": graphs.LINEAR_EMAIL}, format="json")
    assert not schedule_exists(acme, definition_id)
    assert api.get(f"/api/v1/workflows/{definition_id}/schedule").status_code == 404

    definitions.version_restore(
        definition=definitions.WorkflowDefinition.objects.get(pk=definition_id),
        version=definitions.WorkflowVersion.objects.get(definition_id=definition_id, number=1),
    )
    assert hours_of(describe(acme, definition_id)) == {9}  # restoring the scheduled version brings it back


def test_archiving_a_scheduled_definition_deletes_its_schedule(acme):
    api = api_as(acme, "erin")
    definition_id = api.post("/api/v1/workflows", {"name": "D", "definition": scheduled()}, format="json").json()["id"]
    assert schedule_exists(acme, definition_id)

    assert api.delete(f"/api/v1/workflows/{definition_id}").status_code == 204

    assert not schedule_exists(acme, definition_id)


# Fires ----------------------------------------------------------------------------------------------


def test_a_fire_records_an_execution_that_runs_the_newest_version(workers, acme):
    definition = definitions.definition_create(tenant=acme, name="Nightly", graph=scheduled("0 3 * * *"))
    definitions.definition_update(definition=definition, graph=scheduled("0 4 * * *"))

    async def trigger():
        client = await get_tenant_client(acme.pk)
        await client.get_schedule_handle(schedules.schedule_id(definition.pk)).trigger()

    sync.run(trigger)

    execution = wait_until(
        WorkflowExecution.objects.for_tenant(acme).filter(definition=definition).first, timeout=30, what="a run"
    )
    assert execution.version.number == 2
    assert execution.input["schedule"]["id"] == schedules.schedule_id(definition.pk)
    assert execution.pk == schedules.scheduled_execution_id(
        schedules.schedule_id(definition.pk), execution.input["schedule"]["scheduled_at"]
    )
    assert datetime.fromisoformat(execution.input["schedule"]["scheduled_at"]).tzinfo is not None
    assert wait_result(execution).status == ExecutionStatus.COMPLETED
    assert WorkflowExecution.objects.for_tenant(acme).filter(definition=definition).count() == 1


def fire_of(definition, scheduled_at: str = "2026-12-01T09:00:00+00:00") -> dict:
    """The arguments the schedule-fire activity passes for one fire of the definition."""
    return {
        "tenant_id": definition.tenant_id,
        "definition_id": definition.pk,
        "schedule_id": schedules.schedule_id(definition.pk),
        "scheduled_at": scheduled_at,
    }


def test_the_same_fire_started_twice_records_one_execution(acme):
    definition = definitions.definition_create(tenant=acme, name="Nightly", graph=scheduled())
    fire = fire_of(definition)

    first, created = schedules.scheduled_execution_start(**fire)
    again, created_again = schedules.scheduled_execution_start(**fire)
    # The same instant written with another offset is the same fire.
    same, created_same = schedules.scheduled_execution_start(**{**fire, "scheduled_at": "2026-12-01T10:00:00+01:00"})

    assert (created, created_again, created_same) == (True, False, False)
    assert again.pk == first.pk == same.pk == f"workflow-schedule-{definition.pk}-20261201T090000Z"
    assert WorkflowExecution.objects.for_tenant(acme).count() == 1


def test_a_manual_run_claiming_a_fires_time_does_not_suppress_the_fire(acme):
    definition = definitions.definition_create(tenant=acme, name="Nightly", graph=scheduled())
    sid = schedules.schedule_id(definition.pk)
    at = "2026-12-01T09:00:00+00:00"
    # Anyone who may execute the workflow chooses a manual run's input, including this.
    manual = executions.execution_start(
        tenant=acme, definition=definition, input={"schedule": {"id": sid, "scheduled_at": at}}, start=False
    )

    fired, created = schedules.scheduled_execution_start(
        tenant_id=acme.pk, definition_id=definition.pk, schedule_id=sid, scheduled_at=at
    )

    assert created is True
    assert fired.pk != manual.pk and fired.pk == schedules.scheduled_execution_id(sid, at)
    assert WorkflowExecution.objects.for_tenant(acme).filter(definition=definition).count() == 2


def test_a_fire_for_an_archived_definition_starts_nothing(acme):
    definition = definitions.definition_create(tenant=acme, name="Nightly", graph=scheduled())
    definitions.definition_archive(definition=definition)

    with pytest.raises(schedules.ScheduleTargetGone):
        schedules.scheduled_execution_start(
            tenant_id=acme.pk, definition_id=definition.pk, schedule_id="x", scheduled_at="2026-12-01T09:00:00+00:00"
        )
    assert not WorkflowExecution.objects.exists()


# The schedule API -----------------------------------------------------------------------------------


def test_a_schedule_call_temporal_does_not_answer_in_time_is_503(acme, monkeypatch):
    api = api_as(acme, "erin")
    definition_id = api.post("/api/v1/workflows", {"name": "D", "definition": scheduled()}, format="json").json()["id"]
    monkeypatch.setattr(schedules, "CALL_TIMEOUT", 0)  # no Temporal answers in no time

    for response in (
        api.get(f"/api/v1/workflows/{definition_id}/schedule"),
        api.post(f"/api/v1/workflows/{definition_id}/schedule/pause"),
    ):
        assert response.status_code == 503
        assert "did not answer" in response.content.decode()


def test_pause_and_resume_through_the_api_are_reflected_in_describe(acme):
    api = api_as(acme, "erin")
    definition_id = api.post("/api/v1/workflows", {"name": "D", "definition": scheduled()}, format="json").json()["id"]

    shown = api.get(f"/api/v1/workflows/{definition_id}/schedule")
    assert shown.status_code == 200
    body = shown.json()
    assert (body["paused"], body["cron"], body["timezone"]) == (False, "0 9 * * 1-5", "UTC")
    assert len(body["next_fire_times"]) == 5
    assert all(datetime.fromisoformat(t).hour == 9 for t in body["next_fire_times"])

    paused = api.post(f"/api/v1/workflows/{definition_id}/schedule/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert describe(acme, definition_id).schedule.state.paused
    assert describe(acme, definition_id).schedule.state.note == "Paused by erin"

    # A new version keeps the pause: only the spec and action are replaced.
    api.patch(f"/api/v1/workflows/{definition_id}", {"definition": scheduled("0 10 * * *")}, format="json")
    assert describe(acme, definition_id).schedule.state.paused

    resumed = api.post(f"/api/v1/workflows/{definition_id}/schedule/resume")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    assert not describe(acme, definition_id).schedule.state.paused


def test_pausing_needs_the_execute_permission(acme):
    definition_id = (
        api_as(acme, "erin")
        .post("/api/v1/workflows", {"name": "D", "definition": scheduled()}, format="json")
        .json()["id"]
    )
    assert api_as(acme, "vic").get(f"/api/v1/workflows/{definition_id}/schedule").status_code == 200
    assert api_as(acme, "vic").post(f"/api/v1/workflows/{definition_id}/schedule/pause").status_code == 403
    assert not describe(acme, definition_id).schedule.state.paused


def test_a_workflow_without_a_schedule_answers_404(acme):
    api = api_as(acme, "erin")
    definition_id = api.post("/api/v1/workflows", {"name": "M", "definition": graphs.LINEAR_EMAIL}, format="json")
    definition_id = definition_id.json()["id"]

    assert api.get(f"/api/v1/workflows/{definition_id}/schedule").status_code == 404
    assert api.post(f"/api/v1/workflows/{definition_id}/schedule/pause").status_code == 404
    assert api.post(f"/api/v1/workflows/{definition_id}/schedule/resume").status_code == 404


def test_another_tenants_schedule_is_404_like_a_missing_one(acme, globex):
    definition_id = (
        api_as(acme, "erin")
        .post("/api/v1/workflows", {"name": "D", "definition": scheduled()}, format="json")
        .json()["id"]
    )
    gina = api_as(globex, "gina")

    for response in (
        gina.get(f"/api/v1/workflows/{definition_id}/schedule"),
        gina.post(f"/api/v1/workflows/{definition_id}/schedule/pause"),
        gina.post(f"/api/v1/workflows/{definition_id}/schedule/resume"),
    ):
        assert response.status_code == 404
    missing = gina.get("/api/v1/workflows/999999/schedule")
    assert (
        missing.status_code == 404 and missing.json() == gina.get(f"/api/v1/workflows/{definition_id}/schedule").json()
    )
    assert not describe(acme, definition_id).schedule.state.paused


def test_a_retried_fire_launches_the_run_an_earlier_try_recorded_but_could_not_start(acme, settings):
    from tests.support.outage import temporal_unreachable
    from tests.webhooks.conftest import workflow_runs

    with temporal_unreachable(settings):
        definition = definitions.definition_create(tenant=acme, name="Nightly", graph=scheduled())
        fire = fire_of(definition)
        recorded, created = schedules.scheduled_execution_start(**fire)
    recorded.refresh_from_db()
    assert created and recorded.status == ExecutionStatus.PENDING and recorded.next_attempt_at is not None

    again, created_again = schedules.scheduled_execution_start(**fire)  # the activity, retried by Temporal

    assert (again.pk, created_again) == (recorded.pk, False)
    recorded.refresh_from_db()
    assert (recorded.next_attempt_at, recorded.error, recorded.attempts) == (None, "", 2)
    assert workflow_runs(acme.pk, recorded.pk) == 1
