"""What the API answers to malformed ids, oversized bodies and text PostgreSQL cannot store."""

import json

import pytest
from rest_framework.test import APIClient

from mono.api import LimitOffsetPagination
from tenants.models import Role, Tenant
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.workflows.graphs import LINEAR_EMAIL
from workflows.models import WorkflowDefinition


@pytest.fixture
def editor(db):
    user = UserFactory(username="bounded-editor")
    MembershipFactory(tenant=TenantFactory(slug="bounded"), user=user, role=Role.EDITOR)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/workflows/abc/versions"),
        ("post", "/api/v1/approvals/x/decide"),
        ("get", "/api/v1/members/1.5"),
        ("post", "/api/v1/api-keys/-1/revoke"),
        ("get", "/api/v1/webhooks/logs/%20"),
        ("get", "/api/v1/media/0x10"),
    ],
)
def test_an_id_that_is_not_a_number_is_404_like_a_missing_one(editor, method, path):
    assert getattr(editor, method)(path).status_code == 404


def test_json_body_over_the_limit_is_413_naming_it(editor, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = editor.post(
        "/api/v1/workflows/validate", {"definition": {"nodes": [], "pad": "x" * 2000}}, format="json"
    )
    assert response.status_code == 413
    assert "1000 bytes (API_MAX_BODY_BYTES)" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"name": "a\\u0000b", "definition": {}}', "name"),
        ('{"name": "ok", "definition": {"nodes": [{"id": "\\udc00"}]}}', "definition.nodes[0].id"),
        ('{"name": "ok", "definition": {"\\u0000": 1}}', "a key in definition"),
    ],
)
def test_text_postgresql_cannot_store_is_400_saying_where_and_saves_nothing(editor, body, where):
    response = editor.generic("POST", "/api/v1/workflows", body, content_type="application/json")
    assert response.status_code == 400
    assert where in response.json()["detail"]
    assert not WorkflowDefinition.objects.exists()


def test_a_valid_surrogate_pair_is_ordinary_text(editor):
    body = '{"name": "\\ud83d\\ude00 flow", "definition": ' + json.dumps(LINEAR_EMAIL) + "}"
    response = editor.generic("POST", "/api/v1/workflows", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert WorkflowDefinition.objects.get().name == "\U0001f600 flow"


def test_form_encoded_bodies_are_refused_with_415(editor):
    response = editor.post("/api/v1/workflows", {"name": "x"})
    assert response.status_code == 415


def test_page_size_is_capped(editor, monkeypatch):
    monkeypatch.setattr(LimitOffsetPagination, "max_limit", 2)
    tenant = Tenant.objects.get(slug="bounded")
    for name in ("a", "b", "c"):
        WorkflowDefinition.objects.create(tenant=tenant, name=name, slug=name)
    response = editor.get("/api/v1/workflows?limit=100000")
    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == 2
