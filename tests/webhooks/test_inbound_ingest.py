"""The ingest endpoint: signed requests are stored first and start their workflow exactly once."""

import io
import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from mono import crypto
from mono.metrics import WEBHOOK_EVENTS
from mono.temporal.client import forget_connections
from tenants.models import Tenant
from tests.webhooks.conftest import (
    make_integration,
    payload,
    post,
    relay_events,
    signed_headers,
    start_event,
    workflow_runs,
)
from tests.webhooks.test_inbound_signatures import VECTOR_BODY, VECTOR_ID, VECTOR_NOW, VECTOR_SECRET, vector_headers
from tests.workflows.conftest import api_as, wait_until
from webhooks.models import EventStatus, Integration, WebhookEvent
from webhooks.services import integrations, receive
from workflows.models import ExecutionStatus, WorkflowExecution

pytestmark = pytest.mark.django_db(transaction=True)


def finished_execution(event_pk: int, timeout: float = 30) -> WorkflowExecution:
    def done():
        event = WebhookEvent.objects.select_related("execution").get(pk=event_pk)
        return event.execution if event.execution and event.execution.is_finished else None

    return wait_until(done, timeout=timeout, what=f"event {event_pk}'s run to finish")


def test_request_signed_with_the_spec_example_is_accepted_at_its_time(acme, shop):
    integration, _ = shop
    Integration.objects.filter(pk=integration.pk).update(signing_secret_encrypted=crypto.encrypt(VECTOR_SECRET))
    received = receive.event_receive(slug="shop", headers=vector_headers(), body=VECTOR_BODY, now=VECTOR_NOW)
    assert received.created
    assert (received.event.event_id, received.event.body) == (VECTOR_ID, {"test": 2432232314})
    # The same request at today's time is stale.
    response = post("shop", VECTOR_BODY, vector_headers() | {"webhook-id": "msg_other"})
    assert response.status_code == 401
    assert "old" in response.json()["detail"]


def test_accepted_event_is_stored_and_runs_its_workflow_with_the_payload(workers, acme, shop):
    integration, secret = shop
    received_before = WEBHOOK_EVENTS.labels(tenant="acme", status="received")._value.get()
    body = payload(order="A-7")
    response = post("shop", body, signed_headers(secret, body, msg_id="msg_a7") | {"X-Shop": "demo"})
    assert response.status_code == 202
    event = WebhookEvent.objects.get(pk=response.json()["id"])
    assert response.json()["status"] == "pending"
    assert (event.tenant_id, event.integration_id, event.event_id) == (acme.pk, integration.pk, "msg_a7")
    assert event.event_type == "order.created"
    assert event.body == json.loads(body)
    assert event.headers["x-shop"] == "demo" and event.headers["webhook-id"] == "msg_a7"
    assert "webhook-signature" not in event.headers
    execution = finished_execution(event.pk)
    assert execution.id == f"webhook-{integration.pk}-msg_a7"
    assert execution.status == ExecutionStatus.COMPLETED
    assert execution.input == json.loads(body)
    assert execution.output == "order.created:A-7"
    assert {step.node_id: step.status for step in execution.steps.all()} == {
        "start": "completed",
        "store": "completed",
        "end": "completed",
    }
    event.refresh_from_db()
    assert (event.status, event.attempts, event.error) == (EventStatus.STARTED, 1, "")
    assert WEBHOOK_EVENTS.labels(tenant="acme", status="received")._value.get() == received_before + 1


def test_repeated_webhook_id_answers_200_with_the_first_event(workers, acme, shop):
    _, secret = shop
    body = payload()
    headers = signed_headers(secret, body, msg_id="msg_twice")
    first = post("shop", body, headers)
    second = post("shop", body, headers)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["id"] == first.json()["id"]
    finished_execution(first.json()["id"])
    assert WebhookEvent.objects.count() == 1
    assert WorkflowExecution.objects.count() == 1
    assert workflow_runs(acme.pk, WorkflowExecution.objects.get().id) == 1


def test_concurrent_duplicates_make_one_event_and_one_workflow(workers, acme, shop):
    _, secret = shop
    body = payload(order="C-1")
    headers = signed_headers(secret, body, msg_id="msg_race")
    answers: list[tuple[int, int]] = []
    barrier = threading.Barrier(10)

    def send():
        try:
            client = Client()
            barrier.wait()
            response = post("shop", body, headers, client=client)
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 10
    assert sorted(status for status, _ in answers) == [200] * 9 + [202]
    assert len({event_id for _, event_id in answers}) == 1
    execution = finished_execution(answers[0][1])
    assert WebhookEvent.objects.count() == 1
    assert list(WorkflowExecution.objects.values_list("id", flat=True)) == [execution.id]
    assert workflow_runs(acme.pk, execution.id) == 1


def test_event_type_outside_the_allowed_ones_is_stored_ignored_and_starts_nothing(acme):
    _, secret = make_integration(acme, slug="picky", allowed_event_types=["order.paid"])
    body = payload(type="order.created")
    response = post("picky", body, signed_headers(secret, body))
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert WebhookEvent.objects.get().status == EventStatus.IGNORED
    allowed = payload(type="order.paid")
    assert post("picky", allowed, signed_headers(secret, allowed)).json()["status"] == "pending"
    wait_until(WorkflowExecution.objects.exists, what="the allowed event's run")
    assert list(WorkflowExecution.objects.values_list("input__type", flat=True)) == ["order.paid"]


def test_old_secret_verifies_during_the_overlap_window_only(acme, shop):
    integration, old = shop
    integration, new = integrations.integration_rotate_secret(integration=integration, overlap=timedelta(hours=1))
    body = payload()
    assert post("shop", body, signed_headers(old, body)).status_code == 202
    assert post("shop", body, signed_headers(new, body)).status_code == 202
    later = timezone.now() + timedelta(hours=1, seconds=1)
    headers = signed_headers(old, body, timestamp=int(later.timestamp()))
    with pytest.raises(receive.IngestRefused) as refused:
        receive.event_receive(slug="shop", headers=headers, body=body, now=later)
    assert refused.value.status == 401
    headers = signed_headers(new, body, timestamp=int(later.timestamp()))
    assert receive.event_receive(slug="shop", headers=headers, body=body, now=later).created
    # Rotating without overlap retires the old secret at once.
    integration, newest = integrations.integration_rotate_secret(integration=integration, overlap=timedelta(0))
    assert post("shop", body, signed_headers(new, body)).status_code == 401
    assert post("shop", body, signed_headers(newest, body)).status_code == 202
    assert WebhookEvent.objects.count() == 4


def test_events_accepted_while_temporal_is_down_start_once_it_returns(workers, acme, shop, settings):
    _, secret = shop
    address = settings.TEMPORAL_ADDRESS
    settings.TEMPORAL_CONNECT_TIMEOUT_SECONDS = 1
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"
    forget_connections()
    try:
        ids = []
        for number in range(3):
            body = payload(order=f"D-{number}")
            response = post("shop", body, signed_headers(secret, body, msg_id=f"msg_down_{number}"))
            assert response.status_code == 202
            ids.append(response.json()["id"])
        wait_until(
            lambda: all(e.attempts >= 1 and e.error for e in WebhookEvent.objects.filter(pk__in=ids)),
            what="the first start attempts to fail",
        )
        assert relay_events(now=timezone.now() + timedelta(hours=1)) == 0
        waiting = WebhookEvent.objects.filter(pk__in=ids)
        assert {e.status for e in waiting} == {EventStatus.PENDING}
        assert "Could not start the workflow" in waiting[0].error
        # Each has its one execution, waiting to start; a failed start does not fail it.
        assert {e.execution.status for e in waiting} == {ExecutionStatus.PENDING}
    finally:
        settings.TEMPORAL_ADDRESS = address
        forget_connections()
    # The relay's clock is pushed past every backoff the failed attempts set.
    assert relay_events(now=timezone.now() + timedelta(hours=2)) == 3
    assert relay_events(now=timezone.now() + timedelta(hours=3)) == 0
    for event_pk in ids:
        assert finished_execution(event_pk).status == ExecutionStatus.COMPLETED
    assert WorkflowExecution.objects.count() == 3
    for execution_id in WorkflowExecution.objects.values_list("id", flat=True):
        assert workflow_runs(acme.pk, execution_id) == 1
    assert {e.status for e in WebhookEvent.objects.all()} == {EventStatus.STARTED}


def test_starting_an_event_again_after_it_started_creates_nothing_new(workers, acme, shop):
    _, secret = shop
    body = payload()
    event_pk = post("shop", body, signed_headers(secret, body)).json()["id"]
    execution = finished_execution(event_pk)
    # A relay that lost the race, or a start retried after the answer was lost.
    WebhookEvent.objects.filter(pk=event_pk).update(status=EventStatus.PENDING, next_attempt_at=timezone.now())
    assert start_event(event_pk) == EventStatus.STARTED
    assert list(WorkflowExecution.objects.values_list("id", flat=True)) == [execution.id]
    assert workflow_runs(acme.pk, execution.id) == 1


def test_event_for_an_archived_workflow_fails_without_retrying(acme, shop):
    integration, secret = shop
    integration.workflow.status = "archived"
    integration.workflow.save()
    body = payload()
    event_pk = post("shop", body, signed_headers(secret, body)).json()["id"]
    event = wait_until(
        lambda: WebhookEvent.objects.filter(pk=event_pk, status=EventStatus.FAILED).first(), what="failure"
    )
    assert "archived" in event.error
    assert event.execution is None
    assert not WorkflowExecution.objects.exists()


# Refusals ------------------------------------------------------------------------------------

BIG = json.dumps({"type": "x", "blob": "a" * (1024 * 1024)}).encode()


def _stale(secret, body):
    return signed_headers(secret, body, timestamp=int(time.time()) - 301)


def _future(secret, body):
    return signed_headers(secret, body, timestamp=int(time.time()) + 301)


def _without(name):
    return lambda secret, body: {k: v for k, v in signed_headers(secret, body).items() if k != name}


def _with(name, value):
    return lambda secret, body: signed_headers(secret, body) | {name: value}


def _wrong_secret(secret, body):
    return signed_headers("whsec_" + "B" * 43 + "=", body)


def _other_body(secret, body):
    return signed_headers(secret, payload(order="forged"))


REFUSALS = {
    "unknown slug": ("nope", payload(), None, 404, "No such integration"),
    "disabled integration": ("off", payload(), None, 404, "No such integration"),
    "inactive tenant": ("dormant", payload(), None, 404, "No such integration"),
    "no signature": ("shop", payload(), _without("webhook-signature"), 401, "webhook-signature"),
    "no id": ("shop", payload(), _without("webhook-id"), 401, "webhook-id"),
    "no timestamp": ("shop", payload(), _without("webhook-timestamp"), 401, "webhook-timestamp"),
    "wrong secret": ("shop", payload(), _wrong_secret, 401, "No signature matches"),
    "body changed after signing": ("shop", payload(), _other_body, 401, "No signature matches"),
    "stale timestamp": ("shop", payload(), _stale, 401, "old"),
    "future timestamp": ("shop", payload(), _future, 401, "future"),
    "timestamp not a number": ("shop", payload(), _with("webhook-timestamp", "soon"), 401, "seconds"),
    "signature not v1": ("shop", payload(), _with("webhook-signature", "v2,abc"), 401, "no v1 signature"),
    "signature garbage": ("shop", payload(), _with("webhook-signature", "v1,%%%"), 401, "no v1 signature"),
    "body over 1 MB": ("shop", BIG, None, 413, "larger than"),
    "body not JSON": ("shop", b"order=1", None, 400, "not valid JSON"),
    "body a JSON array": ("shop", b"[1, 2]", None, 400, "JSON object"),
    "body with NUL": ("shop", b'{"type": "a\\u0000b"}', None, 400, "u0000"),
    "body not UTF-8": ("shop", b'{"a": "\xff"}', None, 401, "UTF-8"),
}


@pytest.mark.parametrize(("slug", "body", "headers", "status", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_refused_request_stores_and_starts_nothing(acme, shop, slug, body, headers, status, message):
    _, secret = shop
    make_integration(acme, slug="off", enabled=False)
    dormant = Tenant.objects.create(name="Dormant", slug="dormant", is_active=False)
    make_integration(dormant, slug="dormant")
    if headers is None:
        headers = signed_headers(secret, body)
    else:
        headers = headers(secret, body)
    response = post(slug, body, headers)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert not WebhookEvent.objects.exists()
    assert not WorkflowExecution.objects.exists()


def test_only_post_is_allowed(acme, shop):
    response = Client().get("/api/v1/webhooks/integration/shop")
    assert response.status_code == 405
    assert response.json()["detail"] == "Only POST is allowed."


def test_large_body_under_the_limit_is_accepted_whatever_djangos_upload_limit(acme, shop, settings):
    _, secret = shop
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    body = json.dumps({"type": "x", "blob": "a" * (1024 * 1024 - 100)}).encode()
    assert len(body) <= receive.MAX_BODY_BYTES
    response = post("shop", body, signed_headers(secret, body))
    assert response.status_code == 202
    assert len(WebhookEvent.objects.get().body["blob"]) == 1024 * 1024 - 100


def test_relay_command_starts_what_the_starter_left_pending(workers, acme, shop):
    from django.core.management import call_command

    _, secret = shop
    body = payload(order="CMD-1")
    receive.start_soon, real = (lambda event_pk: None), receive.start_soon  # a web process that died
    try:
        event_pk = post("shop", body, signed_headers(secret, body)).json()["id"]
    finally:
        receive.start_soon = real
    # Not due yet: the relay leaves a fresh event to the web process's starter for a while.
    assert relay_events() == 0
    WebhookEvent.objects.filter(pk=event_pk).update(next_attempt_at=timezone.now())
    out = io.StringIO()
    call_command("relay_starts", stdout=out)
    assert "1 webhook events" in out.getvalue()
    assert finished_execution(event_pk).output == "order.created:CMD-1"


def test_webhook_id_unfit_for_a_url_gets_a_hashed_workflow_id(acme, shop):
    integration, secret = shop
    body = payload()
    msg_id = "orders/42.created?" + "x" * 60
    event_pk = post("shop", body, signed_headers(secret, body, msg_id=msg_id)).json()["id"]
    event = wait_until(
        lambda: WebhookEvent.objects.filter(pk=event_pk, execution__isnull=False).first(), what="the execution"
    )
    assert event.event_id == msg_id
    prefix = f"webhook-{integration.pk}-"
    assert event.execution_id.startswith(prefix) and len(event.execution_id) == len(prefix) + 32
    assert api_as(acme, "vic").get(f"/api/v1/executions/{event.execution_id}").status_code == 200
