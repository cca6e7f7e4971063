"""Operators manage tenants, memberships and keys in the Django admin."""

import pytest
from django.contrib.auth import get_user_model

from tenants import services
from tenants.models import Membership, Tenant
from tests.factories import TenantFactory, UserFactory


@pytest.fixture
def operator_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("root", password="x", email=""))
    return client


@pytest.mark.parametrize("page", ["tenants/tenant/", "tenants/membership/", "tenants/apikey/", "tenants/tenant/add/"])
def test_admin_pages_load(operator_client, page):
    tenant = TenantFactory(slug="acme")
    services.api_key_create(
        tenant=tenant, user=services.membership_add(tenant=tenant, user=UserFactory(), role="owner").user, name="ci"
    )
    assert operator_client.get(f"/admin/{page}").status_code == 200


def test_admin_key_revoke_action(operator_client):
    tenant = TenantFactory(slug="acme")
    user = UserFactory(username="alice")
    Membership.objects.create(tenant=tenant, user=user, role="owner")
    api_key, _ = services.api_key_create(tenant=tenant, user=user, name="ci")
    response = operator_client.post("/admin/tenants/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def add_tenant(client, **fields):
    form = {"name": "Acme", "slug": "acme", "retention_days": 90, "is_active": "on"}
    form.update({"memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0}, **fields)
    return client.post("/admin/tenants/tenant/add/", form)


def test_admin_adds_tenant(operator_client):
    assert add_tenant(operator_client).status_code == 302
    assert Tenant.objects.get().slug == "acme"


def test_admin_rejects_bad_retention_and_saves_nothing(operator_client):
    response = add_tenant(operator_client, retention_days=0)
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1" in response.content.decode()
    assert not Tenant.objects.exists()
