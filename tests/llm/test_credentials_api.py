"""`/api/v1/llm/credentials`: provider keys go in, never come out."""

import pytest

from llm.models import ProviderCredential
from tests.llm.conftest import api_as

pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_saves_a_key_that_is_stored_encrypted_and_never_listed(acme):
    saved = api_as(acme, "alice").post(
        "/api/v1/llm/credentials", {"name": "openai", "kind": "openai", "api_key": "sk-very-secret"}, format="json"
    )

    assert saved.status_code == 201, saved.content
    listed = api_as(acme, "vic").get("/api/v1/llm/credentials")
    assert listed.json() == [{**saved.json()}]
    assert "sk-very-secret" not in listed.content.decode() and "api_key" not in listed.json()[0]
    stored = ProviderCredential.objects.for_tenant(acme).get(name="openai")
    assert stored.api_key_encrypted and "sk-very-secret" not in stored.api_key_encrypted


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "cohere", "api_key": "k"}, "kind"),
        ({"name": "not a slug", "kind": "openai", "api_key": "k"}, "name"),
        ({"name": "x", "kind": "openai"}, "api_key"),
        ({"name": "x", "kind": "openai", "api_key": "k", "base_url": "nope"}, "base_url"),
    ],
)
def test_a_bad_credential_is_a_400_naming_the_field(acme, body, field):
    response = api_as(acme, "alice").post("/api/v1/llm/credentials", body, format="json")

    assert response.status_code == 400 and field in response.json()
    assert not ProviderCredential.objects.exists()


def test_only_owners_and_admins_save_keys(acme):
    body = {"name": "openai", "kind": "openai", "api_key": "k"}
    assert api_as(acme, "erin").post("/api/v1/llm/credentials", body, format="json").status_code == 403
