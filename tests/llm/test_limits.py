"""Rate limits and budgets hold under concurrency (real PostgreSQL row locks, many threads)."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from llm import limits
from llm.models import LimitPolicy
from tests.llm.conftest import api_as
from tests.llm.test_gateway import ask


def concurrently(count: int, fn) -> list:
    def run(_):
        try:
            return fn()
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(run, range(count)))


def outcome_of(fn):
    try:
        fn()
    except limits.RateLimited:
        return "limited"
    except limits.BudgetExceeded:
        return "over budget"
    return "admitted"


def test_hundred_concurrent_requests_against_ten_per_minute_admit_exactly_ten(acme):
    LimitPolicy.objects.create(tenant=acme, requests_per_minute=10)
    now = timezone.now().replace(second=1)  # one window for all, whatever the wall clock does
    results = concurrently(
        100,
        lambda: outcome_of(
            lambda: limits.reserve(tenant_id=acme.pk, provider="openai", tokens=10, cost=Decimal(0), now=now)
        ),
    )
    assert results.count("admitted") == 10
    assert results.count("limited") == 90


def test_twenty_concurrent_requests_against_a_budget_for_one_admit_one(acme):
    LimitPolicy.objects.create(tenant=acme, provider="openai", monthly_budget=Decimal("0.0010"))
    now = timezone.now()
    reserve = lambda: limits.reserve(tenant_id=acme.pk, provider="openai", tokens=1000, cost=Decimal("0.0010"), now=now)  # noqa: E731
    results = concurrently(20, lambda: outcome_of(reserve))
    assert results.count("admitted") == 1
    assert results.count("over budget") == 19


def test_api_answers_429_with_retry_after_then_402_over_budget(fake_llm, acme):
    api = api_as(acme, "erin")
    LimitPolicy.objects.create(tenant=acme, requests_per_minute=1)
    assert ask(api, route="openai:gpt-4o-mini").status_code == 200
    limited = ask(api, route="openai:gpt-4o-mini")
    assert limited.status_code == 429 and 1 <= int(limited["Retry-After"]) <= 60
    LimitPolicy.objects.filter(tenant=acme).update(requests_per_minute=None, monthly_budget=Decimal("0"))
    over = ask(api, route="openai:gpt-4o-mini", max_tokens=100)
    assert over.status_code == 402
    assert fake_llm.hits("openai") == 1


def test_settling_replaces_the_estimate_with_real_tokens(fake_llm, acme):
    policy = LimitPolicy.objects.create(tenant=acme, tokens_per_minute=100_000)
    ask(api_as(acme, "erin"), "four words right here", route="openai:gpt-4o-mini", max_tokens=500)
    counter = policy.usage.get()
    assert counter.requests == 1
    assert counter.tokens < 100  # prompt + 4 output tokens, not the 500 reserved


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_provider_limit_applies_only_to_that_provider(fake_llm, acme, provider):
    LimitPolicy.objects.create(tenant=acme, provider="openai", requests_per_minute=0)
    route = "openai:gpt-4o-mini" if provider == "openai" else "anthropic:claude-3-5-haiku-latest"
    expected = 429 if provider == "openai" else 200
    assert ask(api_as(acme, "erin"), route=route).status_code == expected
