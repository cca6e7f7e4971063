"""One tenant's provider credential cannot cool down the platform's provider, nor read its errors."""

import pytest

from llm.services import credential_save
from tests.llm.conftest import api_as
from tests.support.fake_llm import Error

ROUTE = "openai:gpt-4o-mini"


def ask(api, text: str = "hello"):
    return api.post(
        "/api/v1/llm/execute", {"messages": [{"role": "user", "content": text}], "route": ROUTE}, format="json"
    )


@pytest.mark.timeout(10)
def test_a_tenant_credential_named_like_the_platform_provider_has_its_own_breaker(fake_llm, acme, globex):
    # Globex brings its own "openai" account, on the same endpoint the platform uses.
    credential_save(tenant=globex, name="openai", kind="openai", base_url=fake_llm.openai_url, api_key="globex-key")
    fake_llm.script("openai", [Error(500, message="globex account suspended")])
    assert ask(api_as(globex, "gina")).status_code == 503  # its own account failed and now cools down

    answer = ask(api_as(acme, "erin"))  # the platform's account is untouched
    assert answer.status_code == 200, answer.json()
    assert answer.json()["provider"] == "openai"


@pytest.mark.timeout(10)
def test_providers_page_shows_no_other_tenants_errors(fake_llm, acme, globex):
    credential_save(tenant=globex, name="openai", kind="openai", base_url=fake_llm.openai_url, api_key="globex-key")
    fake_llm.script("openai", [Error(500, message="globex secret detail")])
    ask(api_as(globex, "gina"))
    providers = api_as(acme, "erin").get("/api/v1/llm/providers").json()
    openai = next(entry for entry in providers if entry["name"] == "openai")
    assert openai["cooling_down_until"] is None
    assert "globex" not in openai["last_error"]
