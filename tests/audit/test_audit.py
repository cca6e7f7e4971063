"""The audit log: append-only rows, no secrets, the tenant-scoped API, and request ids."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import factory
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from audit.models import AppendOnlyError, AuditAction, AuditEvent
from audit.services import audit_record, redact
from mono.middleware import REQUEST_ID_HEADER, RequestIdMiddleware, current_request_id
from tenants import services as tenant_services
from tenants.models import Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory

DEFINITION = "workflows.workflowdefinition"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    tenant = factory.SubFactory(TenantFactory)
    actor_label = "system"
    action = AuditAction.WORKFLOW_CREATED
    target_type = DEFINITION
    target_id = factory.Sequence(str)


# A view that writes an event the way a service does, to follow a request id end to end
# (served only by the tests marked `pytest.mark.urls(__name__)`).
class RecordingView(APIView):
    def post(self, request):
        event = audit_record(
            tenant=request.tenant, action=AuditAction.WORKFLOW_UPDATED, target=(DEFINITION, 7), actor=request.user
        )
        return Response({"id": event.pk})


urlpatterns = [
    path("api/v1/record", RecordingView.as_view()),
    path("api/v1/", include("audit.api.urls")),
]


@pytest.fixture
def acme(db):
    return TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def globex(db):
    return TenantFactory(name="Globex", slug="globex")


def member(tenant, username: str, role: str):
    user = UserFactory(username=username)
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def alice(acme):
    """Owner of Acme."""
    return member(acme, "alice", Role.OWNER)


@pytest.fixture
def gina(globex):
    """Owner of Globex."""
    return member(globex, "gina", Role.OWNER)


def api_as(tenant, user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_X_TENANT=tenant.slug)
    return client


def key_client(tenant, user) -> tuple[APIClient, str]:
    """A client authenticated by a new API key of `user`, and the key's public prefix."""
    api_key, raw_key = tenant_services.api_key_create(tenant=tenant, user=user, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client, f"mono_{api_key.key_id}"


# Append-only ------------------------------------------------------------------------------------


def test_saving_an_existing_event_is_refused(acme):
    event = AuditEventFactory(tenant=acme, actor_label="alice")
    event.actor_label = "mallory"
    with pytest.raises(AppendOnlyError):
        event.save()
    event.refresh_from_db()
    assert event.actor_label == "alice"


def test_deleting_an_event_is_refused(acme):
    event = AuditEventFactory(tenant=acme)
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_queryset_update_is_refused(acme):
    AuditEventFactory(tenant=acme, actor_label="alice")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.for_tenant(acme).update(actor_label="mallory")
    assert AuditEvent.objects.get().actor_label == "alice"


def test_queryset_bulk_update_is_refused(acme):
    event = AuditEventFactory(tenant=acme, actor_label="alice")
    event.actor_label = "mallory"
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["actor_label"])
    assert AuditEvent.objects.get().actor_label == "alice"


def test_queryset_delete_is_refused(acme):
    AuditEventFactory.create_batch(2, tenant=acme)
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.for_tenant(acme).delete()
    assert AuditEvent.objects.count() == 2


def test_an_event_made_by_hand_with_an_existing_id_cannot_overwrite_it(acme):
    event = AuditEventFactory(tenant=acme, actor_label="alice")
    forged = AuditEvent(pk=event.pk, tenant=acme, actor_label="mallory", action=event.action, target_type="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()
    event.refresh_from_db()
    assert event.actor_label == "alice"


def test_deleting_a_user_keeps_their_events_under_their_name(acme, alice):
    event = audit_record(tenant=acme, action=AuditAction.WORKFLOW_CREATED, target=(DEFINITION, 1), actor=alice)
    alice.delete()
    event.refresh_from_db()
    assert event.actor is None
    assert event.actor_label == "alice"


def test_deleting_a_tenant_removes_its_events(acme, globex):
    AuditEventFactory(tenant=acme)
    kept = AuditEventFactory(tenant=globex)
    acme.delete()
    assert list(AuditEvent.objects.all()) == [kept]


# Redaction ---------------------------------------------------------------------------------------


def test_redact_drops_keys_that_name_a_secret_in_any_case_and_at_any_depth():
    data = {
        "name": "Nightly",
        "API_Key": "abc",
        "secret_hash": "abc",
        "Password": "hunter2",
        "csrftoken": "abc",
        "Authorization": "Basic abc",
        "key_id": "3fa2",
        "nested": {"role": "admin", "refresh_token": "abc", "items": [{"webhookSecret": "abc", "n": 1}]},
    }
    assert redact(data) == {"name": "Nightly", "nested": {"role": "admin", "items": [{"n": 1}]}}


def test_redact_drops_values_holding_an_api_key_or_webhook_secret_under_any_name():
    raw_key = "mono_3fa2b1c4d5e6_Zm9vYmFyYmF6cXV4LXNlY3JldC12YWx1ZQ"
    data = {
        "note": raw_key,
        "header": f"Bearer {raw_key}",
        "signing": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "urls": ["https://example.com/hook?s=whsec_abcdef", "https://example.com/ok"],
        "prefix": "mono_3fa2b1c4d5e6",
        "count": 3,
    }
    assert redact(data) == {"urls": ["https://example.com/ok"], "prefix": "mono_3fa2b1c4d5e6", "count": 3}


def test_redact_leaves_its_argument_untouched():
    data = {"password": "x", "nested": {"token": "y"}}
    redact(data)
    assert data == {"password": "x", "nested": {"token": "y"}}


def test_no_secret_reaches_the_stored_event(acme, alice):
    api_key, raw_key = tenant_services.api_key_create(tenant=acme, user=alice, name="ci")
    event = audit_record(
        tenant=acme,
        action=AuditAction.API_KEY_CREATED,
        target=api_key,
        actor=alice,
        data={"name": "ci", "raw": raw_key, "api_key": raw_key, "signing": acme.webhook_signing_secret},
    )
    stored = json.dumps(AuditEvent.objects.filter(pk=event.pk).values().get(), default=str)
    assert raw_key not in stored
    assert raw_key.rsplit("_", 1)[1] not in stored
    assert acme.webhook_signing_secret not in stored
    assert event.data == {"name": "ci"}


# Recording -------------------------------------------------------------------------------------


def test_record_names_a_model_target_by_app_label_model_and_pk(acme, alice):
    membership = alice.memberships.get()
    event = audit_record(tenant=acme, action=AuditAction.MEMBER_ADDED, target=membership, actor=alice)
    assert (event.target_type, event.target_id) == ("tenants.membership", str(membership.pk))
    assert (event.actor, event.actor_label) == (alice, "alice")


def test_record_without_an_actor_is_the_system(acme):
    event = audit_record(tenant=acme.pk, action=AuditAction.EXECUTION_STARTED, target=("workflows.x", "execution-1"))
    assert (event.actor, event.actor_label) == (None, "system")
    assert event.tenant == acme


def test_record_through_an_api_key_is_labelled_with_its_prefix(acme, alice):
    api_key, _ = tenant_services.api_key_create(tenant=acme, user=alice, name="ci")
    event = audit_record(tenant=acme, action=AuditAction.API_KEY_REVOKED, target=api_key, actor=api_key)
    assert (event.actor, event.actor_label) == (alice, f"api key mono_{api_key.key_id}")


def test_record_outside_a_request_has_no_request_id(acme):
    event = audit_record(tenant=acme, action=AuditAction.APPROVAL_DECIDED, target=("workflows.approvalrequest", 1))
    assert event.request_id == ""


def test_record_refuses_an_unknown_action(acme):
    with pytest.raises(ValidationError):
        audit_record(tenant=acme, action="workflow.teleported", target=(DEFINITION, 1))
    assert not AuditEvent.objects.exists()


def test_record_refuses_a_deleted_target(acme, alice):
    membership = alice.memberships.get()
    membership.delete()
    with pytest.raises(ValueError, match="record it first"):
        audit_record(tenant=acme, action=AuditAction.MEMBER_REMOVED, target=membership)


# API -------------------------------------------------------------------------------------------


def ids(response) -> list[int]:
    return [event["id"] for event in response.json()["results"]]


def test_list_shows_the_tenants_events_newest_first(acme, alice):
    older = AuditEventFactory(tenant=acme, created_at=T0, actor=alice, actor_label="alice", data={"name": "Nightly"})
    newer = AuditEventFactory(tenant=acme, created_at=T0 + timedelta(minutes=1))
    response = api_as(acme, alice).get("/api/v1/audit")
    assert response.status_code == 200
    assert ids(response) == [newer.pk, older.pk]
    assert response.json()["results"][1] == {
        "id": older.pk,
        "created_at": "2026-03-01T12:00:00Z",
        "action": "workflow.created",
        "actor": "alice",
        "actor_label": "alice",
        "target_type": DEFINITION,
        "target_id": older.target_id,
        "request_id": "",
        "data": {"name": "Nightly"},
    }


def test_list_filters_by_action_and_target(acme, alice):
    created = AuditEventFactory(tenant=acme, action=AuditAction.WORKFLOW_CREATED, target_id="1")
    AuditEventFactory(tenant=acme, action=AuditAction.WORKFLOW_PUBLISHED, target_id="1")
    AuditEventFactory(tenant=acme, action=AuditAction.WORKFLOW_CREATED, target_type="tenants.apikey", target_id="1")
    client = api_as(acme, alice)
    response = client.get("/api/v1/audit", {"action": "workflow.created", "target_type": DEFINITION})
    assert ids(response) == [created.pk]
    assert len(ids(client.get("/api/v1/audit", {"target_type": DEFINITION, "target_id": "1"}))) == 2


def test_list_filters_by_actor_username_or_label(acme, alice):
    by_alice = AuditEventFactory(tenant=acme, actor=alice, actor_label="alice", created_at=T0)
    by_alice_key = AuditEventFactory(tenant=acme, actor=alice, actor_label="api key mono_3fa2", created_at=T0)
    by_system = AuditEventFactory(tenant=acme, actor_label="system")
    client = api_as(acme, alice)
    assert set(ids(client.get("/api/v1/audit", {"actor": "alice"}))) == {by_alice.pk, by_alice_key.pk}
    assert ids(client.get("/api/v1/audit", {"actor": "system"})) == [by_system.pk]


def test_list_filters_by_a_half_open_time_range(acme, alice):
    events = [AuditEventFactory(tenant=acme, created_at=T0 + timedelta(days=day)) for day in range(4)]
    response = api_as(acme, alice).get(
        "/api/v1/audit", {"since": "2026-03-02T12:00:00Z", "until": (T0 + timedelta(days=3)).isoformat()}
    )
    assert ids(response) == [events[2].pk, events[1].pk]


@pytest.mark.parametrize(
    "params",
    [{"action": "workflow.teleported"}, {"since": "yesterday"}, {"since": "2026-03-02", "until": "2026-03-01"}],
)
def test_list_rejects_bad_filters(acme, alice, params):
    response = api_as(acme, alice).get("/api/v1/audit", params)
    assert response.status_code == 400
    assert set(response.json()) & {"action", "since", "until"}


def test_list_is_paginated_with_stable_cursors(acme, alice):
    events = [AuditEventFactory(tenant=acme, created_at=T0 + timedelta(seconds=n)) for n in range(5)]
    client = api_as(acme, alice)
    first = client.get("/api/v1/audit", {"limit": 2}).json()
    assert [e["id"] for e in first["results"]] == [events[4].pk, events[3].pk]
    AuditEventFactory(tenant=acme, created_at=T0 + timedelta(minutes=5))  # arrives while paging
    second = client.get(first["next"]).json()
    assert [e["id"] for e in second["results"]] == [events[2].pk, events[1].pk]
    third = client.get(second["next"]).json()
    assert [e["id"] for e in third["results"]] == [events[0].pk]
    assert third["next"] is None


def test_another_tenants_events_never_appear(acme, globex, alice):
    mine = AuditEventFactory(tenant=acme, action=AuditAction.MEMBER_ADDED)
    AuditEventFactory(tenant=globex, action=AuditAction.MEMBER_ADDED)
    client = api_as(acme, alice)
    assert ids(client.get("/api/v1/audit")) == [mine.pk]
    assert ids(client.get("/api/v1/audit", {"action": "member.added"})) == [mine.pk]


def test_event_detail(acme, alice):
    event = AuditEventFactory(tenant=acme)
    response = api_as(acme, alice).get(f"/api/v1/audit/{event.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == event.pk


def test_foreign_tenant_event_is_404(acme, globex, alice):
    foreign = AuditEventFactory(tenant=globex)
    missing = api_as(acme, alice).get(f"/api/v1/audit/{foreign.pk + 1000}")
    response = api_as(acme, alice).get(f"/api/v1/audit/{foreign.pk}")
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.APPROVER, Role.EDITOR])
def test_members_without_manage_permission_are_refused(acme, role):
    event = AuditEventFactory(tenant=acme)
    client = api_as(acme, member(acme, "victor", role))
    assert client.get("/api/v1/audit").status_code == 403
    assert client.get(f"/api/v1/audit/{event.pk}").status_code == 403


def test_admins_may_read_the_log(acme):
    AuditEventFactory(tenant=acme)
    response = api_as(acme, member(acme, "adam", Role.ADMIN)).get("/api/v1/audit")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_anonymous_caller_is_401(db):
    assert APIClient().get("/api/v1/audit").status_code == 401


# Request ids -----------------------------------------------------------------------------------


def test_request_id_from_the_header_is_echoed(acme, alice):
    response = api_as(acme, alice).get("/api/v1/audit", HTTP_X_REQUEST_ID="req-7f3a.1:b")
    assert response[REQUEST_ID_HEADER] == "req-7f3a.1:b"


@pytest.mark.parametrize("offered", [None, "", "two words", "x" * 129, "id\r\nSet-Cookie: a=b"])
def test_missing_or_odd_request_id_is_replaced_by_a_new_one(acme, alice, offered):
    headers = {} if offered is None else {"HTTP_X_REQUEST_ID": offered}
    response = api_as(acme, alice).get("/api/v1/audit", **headers)
    assert response[REQUEST_ID_HEADER] != offered
    assert len(response[REQUEST_ID_HEADER]) == 32
    int(response[REQUEST_ID_HEADER], 16)


@pytest.mark.urls(__name__)
def test_event_records_the_request_id_from_the_header(acme, alice):
    response = api_as(acme, alice).post("/api/v1/record", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200
    assert response[REQUEST_ID_HEADER] == "req-42"
    event = AuditEvent.objects.get(pk=response.json()["id"])
    assert (event.request_id, event.actor_label) == ("req-42", "alice")
    assert current_request_id() == ""  # nothing leaks into work done after the request


@pytest.mark.urls(__name__)
def test_event_in_a_request_without_an_id_records_the_generated_one(acme, alice):
    response = api_as(acme, alice).post("/api/v1/record")
    event = AuditEvent.objects.get(pk=response.json()["id"])
    assert event.request_id == response[REQUEST_ID_HEADER]


@pytest.mark.urls(__name__)
def test_event_made_through_an_api_key_is_labelled_with_its_prefix(acme, alice):
    client, prefix = key_client(acme, alice)
    response = client.post("/api/v1/record")
    event = AuditEvent.objects.get(pk=response.json()["id"])
    assert (event.actor, event.actor_label) == (alice, f"api key {prefix}")


def test_async_requests_see_their_own_request_id():
    async def view(request):
        return HttpResponse(current_request_id())

    middleware = RequestIdMiddleware(view)
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="async-1")
    response = asyncio.run(middleware(request))
    assert response.content == b"async-1"
    assert response[REQUEST_ID_HEADER] == "async-1"
