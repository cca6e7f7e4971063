"""Operators save provider credentials in the admin through `credential_save`: the key is stored
encrypted, never shown or logged, kept when left empty, and every save is audited."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from llm.models import ProviderCredential
from llm.services import credential_save
from mono import crypto
from tests.llm.conftest import api_as

ADD_PAGE = "/admin/llm/providercredential/add/"


def form(acme, **fields) -> dict:
    return {"tenant": acme.pk, "name": "local-vllm", "kind": "openai_compatible", "is_active": "on", **fields}


def test_admin_add_encrypts_the_key_and_audits_without_it(acme, admin_client):
    response = admin_client.post(ADD_PAGE, form(acme, base_url="https://vllm.example", api_key="sk-secret-1"))
    assert response.status_code == 302
    credential = ProviderCredential.objects.for_tenant(acme).get(name="local-vllm")
    assert credential.api_key_encrypted != "sk-secret-1"
    assert crypto.decrypt(credential.api_key_encrypted) == "sk-secret-1"
    event = AuditEvent.objects.for_tenant(acme).get(action="provider_credential.saved")
    assert event.actor == get_user_model().objects.get(username="admin")
    assert event.data == {
        "name": "local-vllm",
        "kind": "openai_compatible",
        "base_url": "https://vllm.example",
        "is_active": True,
        "created": True,
        "rotated": True,
    }
    assert "sk-secret-1" not in str(event.data)
    names = [p["name"] for p in api_as(acme, "erin").get("/api/v1/llm/providers").json()]
    assert "local-vllm" in names


def test_admin_edit_without_a_key_keeps_the_stored_one(acme, admin_client):
    credential = credential_save(tenant=acme, name="local-vllm", kind="openai_compatible", api_key="sk-old")
    stored = credential.api_key_encrypted
    response = admin_client.post(
        f"/admin/llm/providercredential/{credential.pk}/change/", form(acme, name="vllm-2", is_active="")
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert (credential.name, credential.is_active, credential.api_key_encrypted) == ("vllm-2", False, stored)
    latest = AuditEvent.objects.for_tenant(acme).filter(action="provider_credential.saved").latest("id")
    assert (latest.data["created"], latest.data["rotated"]) == (False, False)


def test_unknown_kind_is_refused_naming_the_field_and_saves_nothing(acme, admin_client):
    response = admin_client.post(ADD_PAGE, form(acme, kind="bogus", api_key="sk-x"))
    assert response.status_code == 200
    assert "kind" in response.context["adminform"].form.errors
    assert not ProviderCredential.objects.for_tenant(acme).exists()
    assert not AuditEvent.objects.for_tenant(acme).filter(action="provider_credential.saved").exists()


def test_service_refuses_a_duplicate_name_in_the_tenant(acme):
    credential_save(tenant=acme, name="local-vllm", kind="openai_compatible", api_key="sk-1")
    with pytest.raises(ValidationError):
        credential_save(tenant=acme, name="local-vllm", kind="openai", api_key="sk-2", credential=ProviderCredential())
    assert ProviderCredential.objects.for_tenant(acme).count() == 1
