"""One rule for which LLM failures are temporary: the API view, the LLM activities and the workflow
LLM node treat the same failure the same way (temporary: 429/503, retried by Temporal; permanent:
400/402/502, failed at once)."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from llm.models import LimitPolicy
from llm.temporal import activities
from llm.temporal.types import PromptInput
from tests.llm.conftest import api_as
from tests.support.fake_llm import Error
from workflows.services import steps

ROUTE = "openai:gpt-4o-mini > anthropic:claude-3-5-haiku-latest"


@dataclass(frozen=True)
class Case:
    status: int
    temporary: bool
    error_type: str


def provider_refuses(fake_llm, acme) -> dict:
    fake_llm.script("openai", [Error(401)] * 3)  # one refusal for each path
    return {"route": ROUTE}


def every_provider_down(fake_llm, acme) -> dict:
    fake_llm.script("openai", [Error(500)])
    fake_llm.script("anthropic", [Error(529)])  # later calls find both cooling down: still 503
    return {"route": ROUTE}


def rate_limited(fake_llm, acme) -> dict:
    LimitPolicy.objects.create(tenant=acme, requests_per_minute=0)
    return {"route": ROUTE}


def budget_spent(fake_llm, acme) -> dict:
    LimitPolicy.objects.create(tenant=acme, monthly_budget=Decimal(0))
    return {"route": ROUTE}


def bad_route(fake_llm, acme) -> dict:
    return {"route": "openai gpt-4o-mini"}


CASES = {
    provider_refuses: Case(502, temporary=False, error_type="ProviderRefused"),
    every_provider_down: Case(503, temporary=True, error_type="Unavailable"),
    rate_limited: Case(429, temporary=True, error_type="RateLimited"),
    budget_spent: Case(402, temporary=False, error_type="BudgetExceeded"),
    bad_route: Case(400, temporary=False, error_type="ServiceError"),
}


def through_activities(acme, spec: dict) -> ApplicationError:
    """The activities in the order `llmExecutionWorkflow` runs them; the first failure."""
    environment = ActivityEnvironment()
    prompt = PromptInput(tenant_id=acme.pk, spec=spec)
    with pytest.raises(ApplicationError) as failure:
        environment.run(activities.validate_config, prompt)
        rendered = environment.run(activities.process_template, prompt)
        environment.run(activities.execute_prompt, rendered)
    return failure.value


def through_llm_node(acme, route: str) -> bool:
    """True when the node's failure is retried by Temporal (`run_step` fails a `StepError` at once)."""
    data = {"route": route, "messages": [{"role": "user", "content": "{{ greeting }}"}]}
    with pytest.raises((steps.StepError, RuntimeError)) as failure:
        steps.llm_prompt(tenant_id=acme.pk, data=data, variables={"greeting": "hello there"})
    return not isinstance(failure.value, steps.StepError)


@pytest.mark.parametrize("arrange", list(CASES), ids=lambda arrange: arrange.__name__)
def test_same_failure_is_classified_alike_on_every_path(fake_llm, acme, arrange):
    case = CASES[arrange]
    spec = {**arrange(fake_llm, acme), "messages": [{"role": "user", "content": "hello there"}]}

    response = api_as(acme, "erin").post("/api/v1/llm/execute", spec, format="json")
    assert response.status_code == case.status, response.json()

    error = through_activities(acme, spec)
    assert (error.type, error.non_retryable) == (case.error_type, not case.temporary)

    assert through_llm_node(acme, spec["route"]) is case.temporary


def test_refusal_answers_502_with_the_provider_kind_and_fails_the_activity_for_good(fake_llm, acme):
    spec = provider_refuses(fake_llm, acme) | {"messages": [{"role": "user", "content": "hi"}]}
    response = api_as(acme, "erin").post("/api/v1/llm/execute", spec, format="json")
    assert (response.status_code, response.json()["kind"]) == (502, "auth")
    error = through_activities(acme, spec)
    assert error.non_retryable and "refused the request" in error.message


def test_rate_limited_activity_retries_when_the_window_ends(fake_llm, acme):
    spec = rate_limited(fake_llm, acme) | {"messages": [{"role": "user", "content": "hi"}]}
    response = api_as(acme, "erin").post("/api/v1/llm/execute", spec, format="json")
    error = through_activities(acme, spec)
    assert not error.non_retryable
    assert error.next_retry_delay is not None
    assert timedelta(0) < error.next_retry_delay <= timedelta(seconds=60)
    assert int(response["Retry-After"]) > 0
