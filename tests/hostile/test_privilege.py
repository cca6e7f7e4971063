"""Hostile input, privilege: what a tenant admin, an outsider or a noisy tenant must not be able to do.

Each case ends in a clear 4xx and finishes well under 10 s.
"""

import urllib.error
import urllib.request

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission as AuthPermission
from rest_framework.test import APIClient

from mono.temporal.health import serve_health
from tenants import services
from tenants.models import Membership, Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.support.process import manage
from tests.workflows import graphs
from workflows.models import WorkflowExecution
from workflows.services import definitions

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(10)]


@pytest.fixture
def acme():
    """Acme: olga owns it, adam administers it, vic views it."""
    tenant = TenantFactory(name="Acme", slug="acme")
    for username, role in [("olga", Role.OWNER), ("adam", Role.ADMIN), ("vic", Role.VIEWER)]:
        MembershipFactory(tenant=tenant, user=UserFactory(username=username), role=role)
    return tenant


@pytest.fixture
def outsider():
    """Gina owns Globex; nobody in Acme has any role there."""
    tenant = TenantFactory(name="Globex", slug="globex")
    return MembershipFactory(tenant=tenant, user=UserFactory(username="gina"), role=Role.OWNER).user


def as_member(tenant, username: str) -> APIClient:
    _, raw_key = services.api_key_create(tenant=tenant, user=UserFactory(username=username), name="hostile")
    client = APIClient()
    client.default_format = "json"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def member(tenant, username: str) -> Membership:
    return Membership.objects.for_tenant(tenant).get(user__username=username)


# Only an owner grants or removes owner -------------------------------------------------------------


def test_admin_cannot_make_themself_owner(acme):
    response = as_member(acme, "adam").patch(f"/api/v1/members/{member(acme, 'adam').pk}", {"role": "owner"})
    assert response.status_code == 403
    assert response.json() == {"detail": services.OWNER_ONLY_MESSAGE}
    assert member(acme, "adam").role == Role.ADMIN


def test_admin_cannot_demote_an_owner(acme):
    response = as_member(acme, "adam").patch(f"/api/v1/members/{member(acme, 'olga').pk}", {"role": "viewer"})
    assert response.status_code == 403
    assert member(acme, "olga").role == Role.OWNER


def test_admin_cannot_remove_an_owner(acme):
    # A second owner, so the last-owner rule is not what stops it.
    MembershipFactory(tenant=acme, user=UserFactory(username="otto"), role=Role.OWNER)
    response = as_member(acme, "adam").delete(f"/api/v1/members/{member(acme, 'otto').pk}")
    assert response.status_code == 403
    assert member(acme, "otto").role == Role.OWNER


def test_admin_cannot_grant_owner_to_another_member_or_a_new_one(acme):
    api = as_member(acme, "adam")
    promote = api.patch(f"/api/v1/members/{member(acme, 'vic').pk}", {"role": "owner"})
    add = api.post("/api/v1/members", {"username": "vic", "role": "owner"})
    assert (promote.status_code, add.status_code) == (403, 403)
    assert member(acme, "vic").role == Role.VIEWER


def test_owner_grants_and_removes_owner(acme):
    api = as_member(acme, "olga")
    assert api.patch(f"/api/v1/members/{member(acme, 'adam').pk}", {"role": "owner"}).status_code == 200
    assert api.delete(f"/api/v1/members/{member(acme, 'adam').pk}").status_code == 204
    assert not Membership.objects.for_tenant(acme).filter(user__username="adam").exists()


@pytest.mark.django_db(transaction=True)  # the command runs in a child process
def test_operator_command_may_still_grant_owner(acme):
    result = manage("add_member", "--tenant", "acme", "--user", "adam", "--role", "owner")
    assert result.returncode == 0, result.stderr
    assert member(acme, "adam").role == Role.OWNER


def test_staff_tenant_admin_cannot_grant_owner_in_the_django_admin(acme, client):
    adam = get_user_model().objects.get(username="adam")
    adam.is_staff = True
    adam.set_password("x")
    adam.save()
    adam.user_permissions.add(*AuthPermission.objects.filter(codename__endswith="_membership"))
    client.force_login(adam)
    vic = member(acme, "vic")
    response = client.post(f"/admin/tenants/membership/{vic.pk}/change/", {"role": "owner"})
    assert response.status_code == 200  # the form again, with the error
    assert services.OWNER_ONLY_MESSAGE in response.content.decode()
    assert member(acme, "vic").role == Role.VIEWER
    olga = member(acme, "olga")
    assert client.post(f"/admin/tenants/membership/{olga.pk}/delete/", {"post": "yes"}).status_code == 403
    assert member(acme, "olga").role == Role.OWNER


# Adding members never reveals who exists on the platform ---------------------------------------------


def test_unknown_and_outside_usernames_get_the_same_answer(acme, outsider):
    api = as_member(acme, "adam")
    unknown = api.post("/api/v1/members", {"username": "nobody-by-this-name", "role": "viewer"})
    outside = api.post("/api/v1/members", {"username": "gina", "role": "viewer"})
    assert unknown.status_code == outside.status_code == 400
    assert set(unknown.json()) == set(outside.json()) == {"username"}
    assert unknown.json()["username"][0].replace("nobody-by-this-name", "X") == outside.json()["username"][0].replace(
        "gina", "X"
    )
    assert not Membership.objects.for_tenant(acme).filter(user=outsider).exists()


def test_members_of_another_tenant_the_caller_administers_can_be_added(acme, outsider):
    initech = TenantFactory(slug="initech")
    MembershipFactory(tenant=initech, user=get_user_model().objects.get(username="adam"), role=Role.ADMIN)
    MembershipFactory(tenant=initech, user=UserFactory(username="ivan"), role=Role.EDITOR)
    response = as_member(acme, "adam").post("/api/v1/members", {"username": "ivan", "role": "editor"})
    assert response.status_code == 201
    assert member(acme, "ivan").role == Role.EDITOR


def test_being_a_mere_viewer_elsewhere_does_not_open_that_tenant_s_members(acme, outsider):
    globex = outsider.memberships.get().tenant
    MembershipFactory(tenant=globex, user=get_user_model().objects.get(username="adam"), role=Role.VIEWER)
    response = as_member(acme, "adam").post("/api/v1/members", {"username": "gina", "role": "viewer"})
    assert response.status_code == 400


# /metrics is not public --------------------------------------------------------------------------------


def test_web_metrics_need_the_bearer_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics"
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics")
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 403, 200)
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert "django_http_requests" in right.content.decode()
    assert client.get("/healthz").status_code == 200


def test_web_metrics_without_a_token_answer_loopback_only(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


def fetch(port: int, path: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=5).status  # noqa: S310 (http to a local test server)
    except urllib.error.HTTPError as error:
        return error.code


def test_worker_health_port_metrics_need_the_token_and_healthz_stays_open():
    server = serve_health(lambda: {"healthy": True}, host="127.0.0.1", port=0, metrics_token="w0rker")
    try:
        port = server.server_address[1]
        answers = (fetch(port, "/metrics"), fetch(port, "/metrics", "nope"), fetch(port, "/metrics", "w0rker"))
        healthz = fetch(port, "/healthz")
    finally:
        server.shutdown()
    assert answers == (401, 403, 200)
    assert healthz == 200


# Throttling --------------------------------------------------------------------------------------------


@pytest.fixture
def tight_rates(settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "3/min", "tenant": "5/min"},
    }
    yield
    cache.clear()


def test_an_api_key_over_its_rate_gets_429_with_retry_after_and_other_tenants_do_not(acme, outsider, tight_rates):
    noisy = as_member(acme, "vic")
    answers = [noisy.get("/api/v1/me").status_code for _ in range(4)]
    throttled = noisy.get("/api/v1/me")
    assert answers == [200, 200, 200, 429]
    assert throttled.status_code == 429
    assert 1 <= int(throttled["Retry-After"]) <= 60
    globex = outsider.memberships.get().tenant
    assert as_member(globex, "gina").get("/api/v1/me").status_code == 200


def test_a_tenant_over_its_rate_gets_429_whichever_key_it_uses(acme, outsider, tight_rates):
    keys = [as_member(acme, name) for name in ("olga", "adam", "vic")]
    answers = [keys[n % 3].get("/api/v1/me").status_code for n in range(6)]
    assert answers == [200] * 5 + [429]
    globex = outsider.memberships.get().tenant
    assert as_member(globex, "gina").get("/api/v1/me").status_code == 200


def test_the_webhook_ingest_endpoint_is_not_throttled_by_the_api_rates(tight_rates):
    client = APIClient()
    answers = {client.post("/api/v1/webhooks/integration/no-such-hook", {}).status_code for _ in range(8)}
    assert answers == {404}  # its own answer every time, never a 429


# Concurrent runs per tenant ----------------------------------------------------------------------------


def test_starting_beyond_the_tenant_s_concurrent_run_limit_is_429(acme, outsider, settings):
    settings.TENANT_MAX_CONCURRENT_RUNS = 2
    definition = definitions.definition_create(tenant=acme, name="Busy", graph=graphs.graph(
        graphs.START, graphs.END, graphs.edge("start", "end")
    ))  # fmt: skip
    for _ in range(2):
        WorkflowExecution.objects.create(tenant=acme, definition=definition, version=definition.latest_version)
    api = as_member(acme, "olga")
    refused = api.post(f"/api/v1/workflows/{definition.pk}/execute", {"input": {}})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "2" in refused.json()["detail"]
    assert WorkflowExecution.objects.for_tenant(acme).count() == 2  # nothing recorded
    globex = outsider.memberships.get().tenant
    other = definitions.definition_create(tenant=globex, name="Calm", graph=definition.latest_version.graph)
    assert as_member(globex, "gina").post(f"/api/v1/workflows/{other.pk}/execute", {"input": {}}).status_code == 202
