"""Starting events: every try is counted and backed off, a repeated delivery finds its run, tries end."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from mono import starts
from mono.metrics import WEBHOOK_EVENTS
from mono.temporal.client import forget_connections
from tests.webhooks.conftest import (
    payload,
    post,
    relay_events,
    signed_headers,
    start_event,
    webhook_workflow,
    workflow_runs,
)
from tests.workflows.conftest import api_as, wait_until
from webhooks.models import EventStatus, Integration, WebhookEvent
from webhooks.services import integrations, receive, replay
from workflows.models import ExecutionStatus, WorkflowExecution, WorkflowVersion
from workflows.services import executions

pytestmark = pytest.mark.django_db(transaction=True)


def finished_execution(event_pk: int, timeout: float = 30) -> WorkflowExecution:
    def done():
        event = WebhookEvent.objects.select_related("execution").get(pk=event_pk)
        return event.execution if event.execution and event.execution.is_finished else None

    return wait_until(done, timeout=timeout, what=f"event {event_pk}'s run to finish")


@pytest.fixture
def no_background_start(monkeypatch):
    """A web process whose starter never ran: the test starts events itself."""
    monkeypatch.setattr(receive, "start_soon", lambda event_pk: None)


@pytest.fixture
def temporal_down(settings):
    address = settings.TEMPORAL_ADDRESS
    settings.TEMPORAL_CONNECT_TIMEOUT_SECONDS = 1
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"
    forget_connections()
    yield
    settings.TEMPORAL_ADDRESS = address
    forget_connections()


def _receive(secret: str, msg_id: str, order: str = "A-1") -> int:
    body = payload(order=order)
    response = post("shop", body, signed_headers(secret, body, msg_id=msg_id))
    assert response.status_code == 202
    return response.json()["id"]


def test_webhook_id_sent_again_after_housekeeping_removed_its_event_links_the_first_run(workers, acme, shop):
    _, secret = shop
    first = finished_execution(_receive(secret, "msg_again"))
    # Housekeeping removes events by `received_at`; their runs are kept longer.
    WebhookEvent.objects.all().delete()
    duplicates_before = WEBHOOK_EVENTS.labels(tenant="acme", status="duplicate")._value.get()
    again = _receive(secret, "msg_again")
    event = wait_until(
        lambda: WebhookEvent.objects.filter(pk=again, status=EventStatus.STARTED).first(), what="the resent event"
    )
    assert (event.execution_id, event.attempts, event.error) == (first.id, 1, "")
    assert list(WorkflowExecution.objects.values_list("id", flat=True)) == [first.id]
    assert WorkflowExecution.objects.get().status == ExecutionStatus.COMPLETED
    assert workflow_runs(acme.pk, first.id) == 1
    assert WEBHOOK_EVENTS.labels(tenant="acme", status="duplicate")._value.get() == duplicates_before + 1
    # Its replays do not clash with the ones the removed event made either.
    replay = api_as(acme, "erin").post(f"/api/v1/webhooks/logs/{again}/replay")
    assert replay.status_code == 202 and replay.json()["id"] == f"{first.id}-replay-1"
    WebhookEvent.objects.all().delete()
    third = _receive(secret, "msg_again")
    wait_until(lambda: WebhookEvent.objects.filter(pk=third, status=EventStatus.STARTED).exists(), what="start")
    replay = api_as(acme, "erin").post(f"/api/v1/webhooks/logs/{third}/replay")
    assert replay.status_code == 202 and replay.json()["id"] == f"{first.id}-replay-2"
    for replay_id in (f"{first.id}-replay-1", f"{first.id}-replay-2"):
        wait_until(
            lambda replay_id=replay_id: WorkflowExecution.objects.get(pk=replay_id).status == "completed",
            what=replay_id,
        )


def test_run_id_taken_in_another_tenant_fails_the_event(acme, globex, shop):
    integration, secret = shop
    taken = f"webhook-{integration.pk}-msg_taken"
    executions.execution_start(
        tenant=globex, definition=webhook_workflow(globex), input={}, execution_id=taken, start=False
    )
    event_pk = _receive(secret, "msg_taken")
    event = wait_until(
        lambda: WebhookEvent.objects.filter(pk=event_pk, status=EventStatus.FAILED).first(), what="failure"
    )
    assert "is taken" in event.error and event.execution_id is None
    assert list(WorkflowExecution.objects.values_list("tenant__slug", flat=True)) == ["globex"]
    assert relay_events(now=timezone.now() + timedelta(days=1)) == 0


def test_unexpected_error_recording_the_run_is_counted_and_backed_off(acme, shop, no_background_start):
    integration, secret = shop
    event_pk = _receive(secret, "msg_broken")
    # A definition left without a version: creating the run fails with a database error.
    WorkflowVersion.objects.filter(definition=integration.workflow).delete()
    now = timezone.now()
    with pytest.raises(Exception):  # noqa: B017 (whatever the database raised)
        start_event(event_pk, now=now)
    event = WebhookEvent.objects.get(pk=event_pk)
    assert (event.status, event.attempts, event.execution_id) == (EventStatus.PENDING, 1, None)
    assert event.next_attempt_at == now + timedelta(seconds=5)
    assert event.error.startswith("Could not record the run")
    # The relay waits for the backoff instead of retrying on every pass.
    assert relay_events(now=now + timedelta(seconds=4)) == 0
    assert WebhookEvent.objects.get(pk=event_pk).attempts == 1
    assert not WorkflowExecution.objects.exists()


def test_event_that_never_starts_fails_after_the_last_attempt_with_its_error(
    acme, shop, no_background_start, temporal_down, monkeypatch
):
    monkeypatch.setattr(starts, "MAX_ATTEMPTS", 3)
    _, secret = shop
    event_pk = _receive(secret, "msg_never")
    now = timezone.now()
    for attempt in range(1, 4):
        with pytest.raises(Exception):  # noqa: B017 (Temporal unreachable)
            start_event(event_pk, now=now)
        event = WebhookEvent.objects.select_related("execution").get(pk=event_pk)
        assert event.attempts == attempt
        if attempt < 3:
            assert event.status == EventStatus.PENDING
            assert event.error.startswith("Could not start the workflow")
            assert event.execution.status == ExecutionStatus.PENDING
        now += timedelta(hours=1)
    assert event.status == EventStatus.FAILED and event.next_attempt_at is None
    assert event.error.startswith("Gave up after 3 attempts. Last error: Could not start the workflow")
    assert event.execution.status == ExecutionStatus.FAILED
    assert event.execution.error == event.error
    assert relay_events(now=now + timedelta(days=1)) == 0
    assert WebhookEvent.objects.get(pk=event_pk).attempts == 3


def test_event_whose_last_try_died_unrecorded_fails_instead_of_trying_again(acme, shop, no_background_start):
    _, secret = shop
    event_pk = _receive(secret, "msg_spent")
    WebhookEvent.objects.filter(pk=event_pk).update(
        attempts=starts.MAX_ATTEMPTS,
        error="Could not start the workflow: timeout",
        next_attempt_at=timezone.now(),
    )
    assert relay_events() == 0
    event = WebhookEvent.objects.get(pk=event_pk)
    assert event.status == EventStatus.FAILED and event.attempts == starts.MAX_ATTEMPTS
    assert (
        event.error
        == f"Gave up after {starts.MAX_ATTEMPTS} attempts. Last error: Could not start the workflow: timeout"
    )
    assert not WorkflowExecution.objects.exists()


def test_event_locked_by_another_starter_is_left_to_it_by_the_relay(workers, acme, shop, no_background_start):
    _, secret = shop
    event_pk = _receive(secret, "msg_locked")
    WebhookEvent.objects.filter(pk=event_pk).update(next_attempt_at=timezone.now())
    answers = []

    def relay():
        try:
            answers.append(relay_events())
        finally:
            connection.close()

    with transaction.atomic():  # another starter, holding the event
        WebhookEvent.objects.select_for_update().get(pk=event_pk)
        thread = threading.Thread(target=relay)
        thread.start()
        thread.join(30)
    assert answers == [0]
    assert WebhookEvent.objects.get(pk=event_pk).attempts == 0
    assert relay_events() == 1
    assert finished_execution(event_pk).status == ExecutionStatus.COMPLETED


# Workflow ids --------------------------------------------------------------------------------


@pytest.mark.parametrize("integration_id", [1, 12345, 2_147_483_647, 9_223_372_036_854_775_807])
@pytest.mark.parametrize("event_id", ["a" * 40, "msg_" + "b" * 36, "x/y" * 40, "e" * 255])
def test_workflow_id_leaves_room_for_any_replay(integration_id, event_id):
    event = WebhookEvent(integration_id=integration_id, event_id=event_id)
    workflow_id = receive.workflow_id_for(event)
    assert workflow_id.startswith(f"webhook-{integration_id}-")
    assert len(f"{workflow_id}-replay-2147483647") <= 64
    assert workflow_id == receive.workflow_id_for(WebhookEvent(integration_id=integration_id, event_id=event_id))


def test_short_plain_webhook_id_stays_readable_in_the_workflow_id():
    assert receive.workflow_id_for(WebhookEvent(integration_id=7, event_id="msg_2Kc9")) == "webhook-7-msg_2Kc9"


def test_replay_of_an_event_with_a_40_character_id_fits_the_execution_id(workers, acme, shop):
    _, secret = shop
    event_pk = _receive(secret, "m" * 40)
    finished_execution(event_pk)
    WebhookEvent.objects.filter(pk=event_pk).update(replay_count=999_999_999)
    response = api_as(acme, "erin").post(f"/api/v1/webhooks/logs/{event_pk}/replay")
    assert response.status_code == 202
    replay_id = response.json()["id"]
    assert replay_id.endswith("-replay-1000000000") and len(replay_id) <= 64
    wait_until(lambda: WorkflowExecution.objects.get(pk=replay_id).status == "completed", what="the replay")


# Rows that vanished --------------------------------------------------------------------------


def test_replaying_an_event_removed_meanwhile_is_404(acme, shop):
    _, secret = shop
    event = WebhookEvent.objects.get(pk=_receive(secret, "msg_gone"))
    WebhookEvent.objects.filter(pk=event.pk).update(status=EventStatus.STARTED)
    WebhookEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(replay.EventGone) as gone:
        replay.event_replay(event=event)
    assert gone.value.status_code == 404


def test_changing_or_rotating_an_integration_deleted_meanwhile_is_404_and_does_not_bring_it_back(acme, shop):
    integration, _ = shop
    Integration.objects.filter(pk=integration.pk).delete()
    with pytest.raises(integrations.IntegrationGone) as gone:
        integrations.integration_update(integration=integration, name="Back")
    assert gone.value.status_code == 404
    with pytest.raises(integrations.IntegrationGone):
        integrations.integration_rotate_secret(integration=integration)
    assert not Integration.objects.exists()
