"""`/api/v1/llm/limits`: owners and admins set limits and budgets; everyone sees them with the spend."""

from decimal import Decimal

import pytest

from llm.models import LimitPolicy
from tests.llm.conftest import api_as
from tests.llm.test_gateway import ask

pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_sets_a_budget_that_the_gateway_then_enforces_and_reports(fake_llm, acme):
    owner = api_as(acme, "alice")

    saved = owner.put(
        "/api/v1/llm/limits",
        {"provider": "openai", "monthly_budget": "0.0001", "requests_per_minute": 100},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    assert (saved.json()["monthly_budget"], saved.json()["requests_per_minute"]) == ("0.0001", 100)
    owner.put("/api/v1/llm/limits", {"provider": "openai", "monthly_budget": "0.0100"}, format="json")
    first = ask(api_as(acme, "erin"), "one two three", route="openai:gpt-4o-mini")
    assert first.status_code == 200, first.content

    [row] = api_as(acme, "vic").get("/api/v1/llm/limits").json()

    assert (row["provider"], row["monthly_budget"], row["requests_per_minute"]) == ("openai", "0.0100", None)
    assert Decimal(row["spent"]) > 0
    assert LimitPolicy.objects.for_tenant(acme).count() == 1


def test_only_owners_and_admins_change_limits(acme):
    assert api_as(acme, "erin").put("/api/v1/llm/limits", {"monthly_budget": "5"}, format="json").status_code == 403
    assert api_as(acme, "vic").delete("/api/v1/llm/limits").status_code == 403
    assert not LimitPolicy.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "nope"}, "provider"),
        ({"monthly_budget": "-1"}, "monthly_budget"),
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"tokens_per_minute": "many"}, "tokens_per_minute"),
    ],
)
def test_bad_limits_are_a_400_naming_the_field_and_save_nothing(acme, body, field):
    response = api_as(acme, "alice").put("/api/v1/llm/limits", body, format="json")

    assert response.status_code == 400 and field in response.json()
    assert not LimitPolicy.objects.exists()


def test_delete_drops_one_providers_limits_and_another_tenants_are_untouched(acme, globex):
    api_as(acme, "alice").put("/api/v1/llm/limits", {"monthly_budget": "5"}, format="json")
    api_as(globex, "gina").put("/api/v1/llm/limits", {"monthly_budget": "7"}, format="json")

    assert api_as(acme, "alice").delete("/api/v1/llm/limits?provider=openai").status_code == 404
    assert api_as(acme, "alice").delete("/api/v1/llm/limits").status_code == 204
    assert api_as(acme, "alice").get("/api/v1/llm/limits").json() == []
    assert [row["monthly_budget"] for row in api_as(globex, "gina").get("/api/v1/llm/limits").json()] == ["7.0000"]
