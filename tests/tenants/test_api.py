"""The tenant API: who the caller is, tenant resolution, roles, and tenant isolation."""

from rest_framework.test import APIClient

from tenants import services
from tenants.models import ApiKey, Membership, Role
from tests.factories import MembershipFactory
from tests.tenants.conftest import key_client


def test_me_with_api_key_names_user_tenant_and_role(alice_api):
    response = alice_api.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["user"] == "alice"
    assert response.json()["tenant"]["slug"] == "acme"
    assert response.json()["tenant"]["namespace"].startswith("mono-tenant-")
    assert response.json()["role"] == "owner"
    assert response.json()["auth"] == "api_key"


def test_me_without_credentials_is_401(db):
    response = APIClient().get("/api/v1/me")
    assert response.status_code == 401


def test_session_user_picks_tenant_with_header(acme, globex, alice):
    MembershipFactory(tenant=globex, user=alice, role=Role.VIEWER)
    client = APIClient()
    client.force_login(alice)
    assert client.get("/api/v1/me").json()["tenant"]["slug"] == "acme"  # first membership by default
    response = client.get("/api/v1/me", HTTP_X_TENANT="globex")
    assert response.json()["tenant"]["slug"] == "globex"
    assert response.json()["role"] == "viewer"


def test_session_user_without_header_acts_in_their_first_active_tenant(acme, globex, alice):
    MembershipFactory(tenant=globex, user=alice, role=Role.VIEWER)
    services.tenant_update(tenant=acme, is_active=False)
    client = APIClient()
    client.force_login(alice)
    assert client.get("/api/v1/me").json()["tenant"]["slug"] == "globex"
    named = client.get("/api/v1/me", HTTP_X_TENANT="acme")
    assert named.status_code == 403 and "inactive" in named.json()["detail"]


def test_session_user_naming_a_tenant_they_do_not_belong_to_is_403(alice, gina):
    client = APIClient()
    client.force_login(alice)
    response = client.get("/api/v1/me", HTTP_X_TENANT="globex")
    assert response.status_code == 403
    assert "globex" in response.json()["detail"]


def test_unknown_tenant_slug_answers_like_a_foreign_one(alice):
    client = APIClient()
    client.force_login(alice)
    unknown = client.get("/api/v1/me", HTTP_X_TENANT="no-such-tenant")
    assert unknown.status_code == 403
    assert "no-such-tenant" in unknown.json()["detail"]


def test_revoked_api_key_is_401(acme, alice):
    api_key, raw_key = services.api_key_create(tenant=acme, user=alice, name="ci")
    services.api_key_revoke(api_key=api_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/api/v1/me").status_code == 401


def test_tampered_api_key_is_401(acme, alice):
    _, raw_key = services.api_key_create(tenant=acme, user=alice, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key[:-2]}xx")
    assert client.get("/api/v1/me").status_code == 401


def test_api_key_cannot_switch_tenant_with_header(alice_api, gina):
    response = alice_api.get("/api/v1/me", HTTP_X_TENANT="globex")
    assert response.status_code == 403


def test_api_key_records_last_use(acme, alice):
    api_key, raw_key = services.api_key_create(tenant=acme, user=alice, name="ci")
    assert api_key.last_used_at is None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    client.get("/api/v1/me")
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_api_key_stops_working_when_member_is_removed(acme, alice, victor):
    victor_api = key_client(acme, victor)
    response = key_client(acme, alice).delete(f"/api/v1/members/{Membership.objects.get(user=victor).pk}")
    assert response.status_code == 204
    assert victor_api.get("/api/v1/me").status_code == 401


def test_created_api_key_is_shown_once_and_only_its_hash_is_stored(alice_api):
    created = alice_api.post("/api/v1/api-keys", {"name": "deploy"}, format="json")
    assert created.status_code == 201
    raw_key = created.json()["key"]
    stored = ApiKey.objects.get(pk=created.json()["id"])
    assert raw_key not in stored.secret_hash
    listed = alice_api.get("/api/v1/api-keys").json()["results"]
    assert all("key" not in item for item in listed)
    detail = alice_api.get(f"/api/v1/api-keys/{stored.pk}").json()
    assert "key" not in detail and "secret_hash" not in detail


def test_foreign_tenant_api_key_is_404_like_a_missing_one(alice_api, gina_api, globex, gina):
    foreign = ApiKey.objects.for_tenant(globex).get()
    assert alice_api.get(f"/api/v1/api-keys/{foreign.pk}").status_code == 404
    assert alice_api.get("/api/v1/api-keys/999999").status_code == 404
    assert alice_api.post(f"/api/v1/api-keys/{foreign.pk}/revoke").status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_foreign_tenant_member_is_404(alice_api, globex, gina):
    foreign = Membership.objects.for_tenant(globex).get(user=gina)
    assert alice_api.get(f"/api/v1/members/{foreign.pk}").status_code == 404
    assert alice_api.patch(f"/api/v1/members/{foreign.pk}", {"role": "viewer"}, format="json").status_code == 404
    assert alice_api.delete(f"/api/v1/members/{foreign.pk}").status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.OWNER


def test_members_list_shows_only_own_tenant(alice_api, victor, gina):
    usernames = {m["username"] for m in alice_api.get("/api/v1/members").json()["results"]}
    assert usernames == {"alice", "victor"}


def test_viewer_cannot_add_members(acme, alice, victor):
    response = key_client(acme, victor).post("/api/v1/members", {"username": "alice", "role": "admin"}, format="json")
    assert response.status_code == 403
    assert "viewer" in response.json()["detail"]


def test_viewer_only_sees_own_api_keys(acme, alice, victor):
    key_client(acme, alice)
    names = {k["username"] for k in key_client(acme, victor).get("/api/v1/api-keys").json()["results"]}
    assert names == {"victor"}


def test_add_member_with_bad_role_is_400_naming_the_field(alice_api, gina):
    response = alice_api.post("/api/v1/members", {"username": "gina", "role": "emperor"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()
    assert not Membership.objects.filter(user=gina, tenant__slug="acme").exists()


def test_last_owner_cannot_be_demoted(alice_api, acme, alice):
    owner = Membership.objects.for_tenant(acme).get(user=alice)
    response = alice_api.patch(f"/api/v1/members/{owner.pk}", {"role": "viewer"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_tenant_retention_out_of_range_is_400_naming_the_field(alice_api, acme):
    response = alice_api.patch("/api/v1/tenant", {"retention_days": 0}, format="json")
    assert response.status_code == 400
    assert "retention_days" in response.json()
    acme.refresh_from_db()
    assert acme.retention_days == 90


def test_viewer_cannot_change_tenant(acme, victor):
    response = key_client(acme, victor).patch("/api/v1/tenant", {"name": "Hacked"}, format="json")
    assert response.status_code == 403
    acme.refresh_from_db()
    assert acme.name == "Acme"


def test_inactive_tenant_is_refused(alice_api, acme):
    services.tenant_update(tenant=acme, is_active=False)
    response = alice_api.get("/api/v1/me")
    assert response.status_code == 403
    assert "inactive" in response.json()["detail"]


def test_openapi_schema_is_served(db):
    response = APIClient().get("/api/v1/schema")
    assert response.status_code == 200
    assert b"/api/v1/me" in response.content


def test_openapi_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", "/dev/null")
