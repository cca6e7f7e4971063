"""Operators change integrations in the admin through the same service as the API."""

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from tests.webhooks.conftest import make_integration, payload, post, signed_headers
from webhooks.models import Integration
from webhooks.services import receive

pytestmark = pytest.mark.django_db(transaction=True)


def change_page(integration) -> str:
    return f"/admin/webhooks/integration/{integration.pk}/change/"


def test_admin_change_is_validated_audited_and_seen_by_ingest_at_once(acme, shop, admin_client, monkeypatch):
    monkeypatch.setattr(receive, "start_soon", lambda event_pk: None)  # only the answer matters here
    integration, secret = shop
    body = payload()
    assert post("shop", body, signed_headers(secret, body)).status_code == 202  # ingest has it cached
    response = admin_client.post(
        change_page(integration), {"name": "Shop (paused)", "allowed_event_types": '["order.paid", " order.paid "]'}
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert (integration.name, integration.enabled, integration.allowed_event_types) == (
        "Shop (paused)",
        False,
        ["order.paid"],
    )
    event = AuditEvent.objects.for_tenant(acme).get(action="integration.updated")
    assert event.actor == get_user_model().objects.get(username="admin")
    assert event.data == {"name": "Shop (paused)", "enabled": False, "allowed_event_types": ["order.paid"]}
    # Disabled: this process refuses at once instead of after the cache's few seconds.
    assert post("shop", body, signed_headers(secret, body)).status_code == 404


@pytest.mark.parametrize("value", ['[""]', "[1]", '{"a": 1}', '"order.paid"'])
def test_admin_refuses_bad_event_types_naming_the_field_and_changes_nothing(acme, shop, admin_client, value):
    integration, _ = shop
    response = admin_client.post(
        change_page(integration), {"name": "Renamed", "enabled": "on", "allowed_event_types": value}
    )
    assert response.status_code == 200
    assert "allowed_event_types" in response.context["adminform"].form.errors
    integration.refresh_from_db()
    assert (integration.name, integration.allowed_event_types) == ("Shop", [])
    assert not AuditEvent.objects.for_tenant(acme).filter(action="integration.updated").exists()


def test_admin_delete_is_audited_and_seen_by_ingest_at_once(acme, shop, admin_client, monkeypatch):
    monkeypatch.setattr(receive, "start_soon", lambda event_pk: None)  # only the answer matters here
    integration, secret = shop
    body = payload()
    assert post("shop", body, signed_headers(secret, body)).status_code == 202  # ingest has it cached

    response = admin_client.post(f"/admin/webhooks/integration/{integration.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Integration.objects.filter(pk=integration.pk).exists()
    event = AuditEvent.objects.for_tenant(acme).get(action="integration.deleted")
    assert (event.actor.username, event.data) == ("admin", {"name": "Shop", "slug": "shop"})
    assert post("shop", body, signed_headers(secret, body)).status_code == 404


def test_admin_bulk_delete_audits_each_integration(acme, shop, admin_client):
    integration, _ = shop
    other, _ = make_integration(acme, name="Billing", slug="billing")

    response = admin_client.post(
        "/admin/webhooks/integration/",
        {"action": "delete_selected", "post": "yes", "_selected_action": [integration.pk, other.pk]},
    )

    assert response.status_code == 302
    assert not Integration.objects.for_tenant(acme).exists()
    deleted = AuditEvent.objects.for_tenant(acme).filter(action="integration.deleted")
    assert sorted(deleted.values_list("data__slug", flat=True)) == ["billing", "shop"]
