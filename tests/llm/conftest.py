from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from llm.models import ModelPrice
from tenants import services as tenant_services
from tenants.models import Role
from tests.factories import UserFactory
from tests.support.fake_llm import FakeLLMServer


@pytest.fixture
def fake_llm(settings):
    """The fake provider server, with the platform's three providers pointed at it."""
    with FakeLLMServer() as server:
        settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = settings.MISTRAL_API_KEY = "test-key"
        settings.OPENAI_BASE_URL = server.openai_url
        settings.ANTHROPIC_BASE_URL = server.anthropic_url
        settings.MISTRAL_BASE_URL = server.mistral_url
        settings.LLM_TIMEOUT_SECONDS = 2
        yield server


@pytest.fixture
def prices(transactional_db):
    """List prices (transactional tests empty the tables the migration seeded)."""
    for provider, model, prompt, completion in [
        ("openai", "gpt-4o-mini", "0.15", "0.60"),
        ("anthropic", "claude-3-5-haiku-latest", "0.80", "4.00"),
        ("mistral", "mistral-small-latest", "0.20", "0.60"),
    ]:
        ModelPrice.objects.get_or_create(
            provider=provider,
            model=model,
            defaults={"input_per_million": Decimal(prompt), "output_per_million": Decimal(completion)},
        )


@pytest.fixture
def acme(transactional_db, prices):
    tenant = tenant_services.tenant_create(name="Acme", slug="acme", owner=UserFactory(username="alice"))
    tenant_services.membership_add(tenant=tenant, user=UserFactory(username="erin"), role=Role.EDITOR)
    tenant_services.membership_add(tenant=tenant, user=UserFactory(username="vic"), role=Role.VIEWER)
    return tenant


@pytest.fixture
def globex(transactional_db):
    return tenant_services.tenant_create(name="Globex", slug="globex", owner=UserFactory(username="gina"))


def api_as(tenant, username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(username=username))
    client.credentials(HTTP_X_TENANT=tenant.slug)
    return client
