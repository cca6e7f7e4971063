"""Integrations and the event log over the API: CRUD, secrets shown once, filters, replay, isolation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from tests.webhooks.conftest import make_integration, payload, post, signed_headers, webhook_workflow
from tests.workflows import graphs
from tests.workflows.conftest import api_as, wait_until
from webhooks.models import EventStatus, Integration, WebhookEvent
from webhooks.services.receive import event_receive
from workflows.models import WorkflowExecution
from workflows.services import definitions

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/webhooks/integrations"


def audit_actions(tenant) -> list[str]:
    return list(AuditEvent.objects.for_tenant(tenant).order_by("created_at", "id").values_list("action", flat=True))


def test_integration_crud_shows_the_secret_only_when_created_or_rotated(acme):
    api = api_as(acme, "erin")
    workflow = webhook_workflow(acme)
    created = api.post(BASE, {"name": "Shop", "workflow": workflow.pk, "allowed_event_types": ["a"]}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["url"].endswith(f"/api/v1/webhooks/integration/{body['slug']}")
    assert body["slug"].startswith("shop-")
    integration_id = body["id"]
    listed = api.get(BASE).json()["results"]
    assert [i["id"] for i in listed] == [integration_id]
    assert "secret" not in listed[0]
    detail = api.get(f"{BASE}/{integration_id}").json()
    assert "secret" not in detail and body["secret"] not in str(detail)
    patched = api.patch(f"{BASE}/{integration_id}", {"enabled": False, "allowed_event_types": []}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["enabled"], patched.json()["allowed_event_types"]) == (False, [])
    assert "secret" not in patched.json()
    rotated = api.post(f"{BASE}/{integration_id}/rotate-secret", {"overlap_seconds": 60}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != body["secret"]
    assert rotated.json()["previous_secret_expires_at"]
    assert api.delete(f"{BASE}/{integration_id}").status_code == 204
    assert not Integration.objects.exists()
    assert audit_actions(acme)[-4:] == [
        "integration.created",
        "integration.updated",
        "integration.secret_rotated",
        "integration.deleted",
    ]
    assert not any("whsec_" in str(event.data) for event in AuditEvent.objects.all())


def test_created_secret_signs_requests_the_endpoint_accepts(acme):
    api = api_as(acme, "erin")
    created = api.post(BASE, {"name": "Shop", "workflow": webhook_workflow(acme).pk}, format="json").json()
    body = payload()
    assert post(created["slug"], body, signed_headers(created["secret"], body)).status_code == 202


def test_viewer_reads_but_cannot_change_integrations(acme):
    integration, _ = make_integration(acme)
    viewer = api_as(acme, "vic")
    assert viewer.get(f"{BASE}/{integration.pk}").status_code == 200
    assert viewer.patch(f"{BASE}/{integration.pk}", {"name": "X"}, format="json").status_code == 403
    assert viewer.post(f"{BASE}/{integration.pk}/rotate-secret").status_code == 403
    assert viewer.delete(f"{BASE}/{integration.pk}").status_code == 403
    assert viewer.post(BASE, {"name": "X", "workflow": integration.workflow_id}, format="json").status_code == 403


def _manual_workflow(tenant):
    return definitions.definition_create(tenant=tenant, name="Manual", graph=graphs.PARALLEL)


@pytest.mark.parametrize(
    ("make_body", "field"),
    [
        (lambda acme, globex, wf: {"workflow": wf.pk}, "name"),
        (lambda acme, globex, wf: {"name": "X"}, "workflow"),
        (lambda acme, globex, wf: {"name": "X", "workflow": webhook_workflow(globex).pk}, "workflow"),
        (lambda acme, globex, wf: {"name": "X", "workflow": _manual_workflow(acme).pk}, "workflow"),
        (lambda acme, globex, wf: {"name": "X", "workflow": wf.pk, "allowed_event_types": "a"}, "allowed_event_types"),
        (lambda acme, globex, wf: {"name": "X", "workflow": wf.pk, "allowed_event_types": [""]}, "allowed_event_types"),
        (lambda acme, globex, wf: {"name": "X", "workflow": wf.pk, "slug": "taken"}, "slug"),
        (lambda acme, globex, wf: {"name": "X", "workflow": wf.pk, "slug": "not a slug"}, "slug"),
        (lambda acme, globex, wf: {"name": "X" * 201, "workflow": wf.pk}, "name"),
    ],
    ids=[
        "no name",
        "no workflow",
        "other tenant's workflow",
        "workflow without webhook trigger",
        "event types not a list",
        "empty event type",
        "slug taken",
        "slug invalid",
        "name too long",
    ],
)
def test_bad_integration_is_400_naming_the_field_and_saves_nothing(acme, globex, make_body, field):
    workflow = webhook_workflow(acme)
    make_integration(globex, slug="taken")
    before = Integration.objects.count()
    response = api_as(acme, "erin").post(BASE, make_body(acme, globex, workflow), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Integration.objects.count() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "other"}, "slug"),
        ({"workflow": "manual"}, "workflow"),
        ({"allowed_event_types": [1, None]}, "allowed_event_types"),
        ({"enabled": "maybe"}, "enabled"),
    ],
)
def test_bad_change_is_400_naming_the_field_and_changes_nothing(acme, change, field):
    integration, _ = make_integration(acme)
    if change.get("workflow") == "manual":
        change = {"workflow": _manual_workflow(acme).pk}
    response = api_as(acme, "erin").patch(f"{BASE}/{integration.pk}", change, format="json")
    assert response.status_code == 400
    assert field in response.json()
    fresh = Integration.objects.get(pk=integration.pk)
    assert (fresh.slug, fresh.workflow_id, fresh.enabled) == (integration.slug, integration.workflow_id, True)


def test_bad_overlap_is_400_naming_the_field(acme):
    integration, _ = make_integration(acme)
    api = api_as(acme, "erin")
    response = api.post(f"{BASE}/{integration.pk}/rotate-secret", {"overlap_seconds": -1}, format="json")
    assert response.status_code == 400
    assert "overlap_seconds" in response.json()


def test_another_tenants_integration_is_404_everywhere(acme, globex):
    integration, _ = make_integration(globex)
    api = api_as(acme, "alice")
    assert api.get(f"{BASE}/{integration.pk}").status_code == 404
    assert api.patch(f"{BASE}/{integration.pk}", {"name": "Mine"}, format="json").status_code == 404
    assert api.delete(f"{BASE}/{integration.pk}").status_code == 404
    assert api.post(f"{BASE}/{integration.pk}/rotate-secret").status_code == 404
    assert api.get(BASE).json()["results"] == []
    assert Integration.objects.get(pk=integration.pk).name == "Shop"


# Logs ----------------------------------------------------------------------------------------


def receive(integration, secret, *, order="A", type="order.created", at=None):
    body = payload(order=order, type=type)
    at = at or timezone.now()
    headers = signed_headers(secret, body, timestamp=int(at.timestamp()))
    return event_receive(slug=integration.slug, headers=headers, body=body, now=at).event


def test_logs_list_and_filter_by_integration_status_and_date(workers, acme):
    shop, shop_secret = make_integration(acme, slug="shop")
    picky, picky_secret = make_integration(acme, slug="picky", allowed_event_types=["order.paid"])
    old = receive(shop, shop_secret, order="old", at=timezone.now() - timedelta(days=2))
    new = receive(shop, shop_secret, order="new")
    ignored = receive(picky, picky_secret, order="ignored")
    wait_until(lambda: WebhookEvent.objects.filter(status=EventStatus.STARTED).count() == 2, what="both started")
    api = api_as(acme, "vic")

    def ids(query=""):
        response = api.get(f"/api/v1/webhooks/logs{query}")
        assert response.status_code == 200
        return [event["id"] for event in response.json()["results"]]

    assert ids() == [ignored.pk, new.pk, old.pk]
    assert ids(f"?integration={picky.pk}") == [ignored.pk]
    assert ids("?status=ignored") == [ignored.pk]
    assert ids("?status=started") == [new.pk, old.pk]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(f"?since={since.replace('+', '%2B')}") == [ignored.pk, new.pk]
    assert ids(f"?until={since.replace('+', '%2B')}") == [old.pk]
    page = api.get("/api/v1/webhooks/logs?limit=1").json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"]
    listed = api.get(f"/api/v1/webhooks/logs?integration={shop.pk}").json()["results"][0]
    assert listed["execution"] == {"id": f"webhook-{shop.pk}-{new.event_id}", "status": listed["execution"]["status"]}
    detail = api.get(f"/api/v1/webhooks/logs/{new.pk}").json()
    assert detail["body"]["data"]["order"] == "new"
    assert "webhook-signature" not in detail["headers"]


@pytest.mark.parametrize(("query", "field"), [("status=lost", "status"), ("since=yesterday", "since")])
def test_bad_log_filter_is_400_naming_it(acme, query, field):
    response = api_as(acme, "vic").get(f"/api/v1/webhooks/logs?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_replay_starts_a_new_execution_each_time(workers, acme):
    integration, secret = make_integration(acme)
    event = receive(integration, secret, order="R-1")
    wait_until(lambda: WebhookEvent.objects.get(pk=event.pk).status == EventStatus.STARTED, what="start")
    api = api_as(acme, "erin")
    first = api.post(f"/api/v1/webhooks/logs/{event.pk}/replay")
    second = api.post(f"/api/v1/webhooks/logs/{event.pk}/replay")
    assert (first.status_code, second.status_code) == (202, 202)
    base = f"webhook-{integration.pk}-{event.event_id}"
    assert (first.json()["id"], second.json()["id"]) == (f"{base}-replay-1", f"{base}-replay-2")
    for execution_id in (base, f"{base}-replay-1", f"{base}-replay-2"):
        wait_until(
            lambda execution_id=execution_id: WorkflowExecution.objects.get(pk=execution_id).status == "completed",
            what=execution_id,
        )
    assert WorkflowExecution.objects.get(pk=f"{base}-replay-2").input == event.body
    assert WebhookEvent.objects.get(pk=event.pk).execution_id == base
    assert audit_actions(acme).count("webhook_event.replayed") == 2
    assert api_as(acme, "vic").post(f"/api/v1/webhooks/logs/{event.pk}/replay").status_code == 403


def test_another_tenants_events_are_404_to_read_and_replay(acme, globex):
    integration, secret = make_integration(globex)
    event = receive(integration, secret)
    api = api_as(acme, "alice")
    assert api.get(f"/api/v1/webhooks/logs/{event.pk}").status_code == 404
    assert api.post(f"/api/v1/webhooks/logs/{event.pk}/replay").status_code == 404
    assert api.get("/api/v1/webhooks/logs").json()["results"] == []
    assert api.get(f"/api/v1/webhooks/logs?integration={integration.pk}").json()["results"] == []
    assert WebhookEvent.objects.get(pk=event.pk).replay_count == 0


def test_admin_lists_events_read_only_and_replays_them(workers, acme, admin_client):
    integration, secret = make_integration(acme)
    event = receive(integration, secret, order="ADM")
    wait_until(lambda: WebhookEvent.objects.get(pk=event.pk).status == EventStatus.STARTED, what="start")
    assert admin_client.get("/admin/webhooks/webhookevent/").status_code == 200
    assert admin_client.get(f"/admin/webhooks/integration/{integration.pk}/change/").status_code == 200
    response = admin_client.post(
        "/admin/webhooks/webhookevent/", {"action": "replay", "_selected_action": [event.pk]}, follow=True
    )
    assert response.status_code == 200
    replay_id = f"webhook-{integration.pk}-{event.event_id}-replay-1"
    assert WorkflowExecution.objects.filter(pk=replay_id).exists()
    page = admin_client.get(f"/admin/webhooks/webhookevent/{event.pk}/change/")
    assert page.status_code == 200 and b'name="status"' not in page.content  # read-only
    assert secret.encode() not in admin_client.get(f"/admin/webhooks/integration/{integration.pk}/change/").content
