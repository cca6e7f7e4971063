"""The LLM gateway through its API: providers via their SDKs, failover, cooldown, cache, usage."""

import json
from decimal import Decimal

import pytest

from llm.models import LLMUsage, ProviderHealth
from tests.llm.conftest import api_as
from tests.support.fake_llm import Delay, Error

ROUTE = "openai:gpt-4o-mini > anthropic:claude-3-5-haiku-latest"


def ask(api, text: str = "hello there", **extra):
    body = {"messages": [{"role": "user", "content": text}], **extra}
    return api.post("/api/v1/llm/execute", body, format="json")


@pytest.mark.parametrize(
    ("route", "provider"),
    [
        ("openai:gpt-4o-mini", "openai"),
        ("anthropic:claude-3-5-haiku-latest", "anthropic"),
        ("mistral:mistral-small-latest", "mistral"),
    ],
)
def test_each_provider_answers_and_usage_is_costed(fake_llm, acme, route, provider):
    response = ask(api_as(acme, "erin"), "three little words", route=route)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["provider"], body["content"], body["cached"]) == (provider, "three little words", False)
    assert body["input_tokens"] > 0 and body["output_tokens"] == 3
    usage = LLMUsage.objects.for_tenant(acme).get()
    assert (usage.provider, usage.status, usage.output_tokens, usage.scope) == (provider, "ok", 3, "api")
    assert usage.cost > 0 and str(usage.cost.normalize()) == str(Decimal(body["cost"]).normalize())
    assert usage.request_id == fake_llm.last(provider).request_id


def sse_events(response) -> list[tuple[str, dict]]:
    text = b"".join(response.streaming_content).decode()
    events = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.mark.parametrize(
    "route", ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-latest", "mistral:mistral-small-latest"]
)
def test_streaming_sends_deltas_then_usage_and_records_it(fake_llm, acme, route):
    response = ask(api_as(acme, "erin"), "stream these four words", route=route, stream=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    events = sse_events(response)
    assert "".join(data["text"] for name, data in events if name == "delta") == "stream these four words"
    name, done = events[-1]
    assert name == "done" and done["output_tokens"] == 4
    assert LLMUsage.objects.for_tenant(acme).get().streamed is True


def test_disconnected_stream_is_still_recorded(fake_llm, acme):
    response = ask(api_as(acme, "erin"), "one two three four five", route="openai:gpt-4o-mini", stream=True)
    stream = iter(response.streaming_content)
    next(stream)
    next(stream)
    response.close()  # the client goes away after two deltas
    usage = LLMUsage.objects.for_tenant(acme).get()
    assert (usage.status, usage.output_tokens, usage.streamed) == ("ok", 5, True)


@pytest.mark.parametrize("failure", [Error(429, retry_after=1), Error(500), Error(503), Delay(5)])
def test_failover_to_next_candidate_and_cooldown(fake_llm, acme, failure):
    fake_llm.script("openai", [failure])
    api = api_as(acme, "erin")
    first = ask(api, route=ROUTE)
    assert first.status_code == 200
    assert first.json()["provider"] == "anthropic"
    assert [a["status"] for a in first.json()["attempts"]] == ["error", "ok"]
    assert ProviderHealth.objects.get(key__startswith="platform:openai@").cooldown_until is not None

    hits = fake_llm.hits("openai")
    second = ask(api, "again", route=ROUTE)
    assert second.json()["provider"] == "anthropic"
    assert fake_llm.hits("openai") == hits  # cooling down: not asked again
    assert list(LLMUsage.objects.for_tenant(acme).order_by("id").values_list("provider", "status")) == [
        ("openai", "error"), ("anthropic", "ok"), ("anthropic", "ok"),
    ]  # fmt: skip


@pytest.mark.parametrize(("failure", "kind"), [(Error(400), "invalid_request"), (Error(401), "auth")])
def test_no_failover_on_refusals(fake_llm, acme, failure, kind):
    fake_llm.script("openai", [failure])
    response = ask(api_as(acme, "erin"), route=ROUTE)
    assert response.status_code == 502
    assert response.json()["kind"] == kind
    assert fake_llm.hits("anthropic") == 0
    assert not ProviderHealth.objects.filter(cooldown_until__isnull=False).exists()


def test_all_candidates_down_is_503_listing_attempts(fake_llm, acme):
    fake_llm.script("openai", [Error(500)])
    fake_llm.script("anthropic", [Error(529)])
    response = ask(api_as(acme, "erin"), route=ROUTE)
    assert response.status_code == 503
    assert [a["provider"] for a in response.json()["attempts"]] == ["openai", "anthropic"]


def test_cache_hit_costs_nothing_and_skips_the_provider(fake_llm, acme, globex):
    api = api_as(acme, "erin")
    first = ask(api, route="openai:gpt-4o-mini", cache_ttl_seconds=60)
    second = ask(api, route="openai:gpt-4o-mini", cache_ttl_seconds=60)
    assert (first.json()["cached"], second.json()["cached"]) == (False, True)
    assert second.json()["content"] == first.json()["content"] and second.json()["cost"] == "0"
    assert fake_llm.hits("openai") == 1
    assert list(LLMUsage.objects.for_tenant(acme).values_list("status", flat=True).order_by("id")) == ["ok", "cached"]
    ask(api_as(globex, "gina"), route="openai:gpt-4o-mini", cache_ttl_seconds=60)
    assert fake_llm.hits("openai") == 2  # another tenant never reads this tenant's cache


def test_prompt_template_renders_and_missing_variable_is_400(fake_llm, acme):
    api = api_as(acme, "erin")
    created = api.post(
        "/api/v1/llm/templates",
        {
            "name": "greet",
            "system": "Be brief.",
            "user": "Say hi to {{ name }}",
            "route": "mistral:mistral-small-latest",
        },
        format="json",
    )
    assert created.status_code == 201
    ok = api.post("/api/v1/llm/execute", {"template": "greet", "variables": {"name": "Ann"}}, format="json")
    assert ok.status_code == 200 and ok.json()["content"] == "Say hi to Ann"
    assert fake_llm.last("mistral").body["messages"][0] == {"role": "system", "content": "Be brief."}
    missing = api.post("/api/v1/llm/execute", {"template": "greet", "variables": {}}, format="json")
    assert missing.status_code == 400 and "name" in json.dumps(missing.json())


def test_bad_template_text_and_route_are_400_naming_the_field(acme):
    api = api_as(acme, "erin")
    bad = api.post("/api/v1/llm/templates", {"name": "x", "user": "{{ unclosed"}, format="json")
    assert bad.status_code == 400 and "user" in bad.json()
    route = ask(api, route="not a route")
    assert route.status_code == 400 and "route" in route.json()


def test_analytics_sums_usage_by_provider(fake_llm, acme):
    api = api_as(acme, "erin")
    for text in ["a b", "c d e"]:
        ask(api, text, route="openai:gpt-4o-mini")
    ask(api, "f", route="anthropic:claude-3-5-haiku-latest")
    rows = api.get("/api/v1/llm/analytics?group_by=provider").json()["rows"]
    by_provider = {row["provider"]: row for row in rows}
    assert by_provider["openai"]["requests"] == 2 and by_provider["openai"]["output_tokens"] == 5
    total = sum(Decimal(row["cost"]) for row in rows)
    assert total == sum(LLMUsage.objects.for_tenant(acme).values_list("cost", flat=True))


def test_viewer_cannot_execute(acme):
    assert ask(api_as(acme, "vic")).status_code == 403


def test_providers_endpoint_shows_prices_and_cooldown(fake_llm, acme):
    fake_llm.script("openai", [Error(429)])
    ask(api_as(acme, "erin"), route=ROUTE)
    providers = {p["name"]: p for p in api_as(acme, "erin").get("/api/v1/llm/providers").json()}
    assert providers["openai"]["cooling_down_until"] is not None
    assert providers["anthropic"]["cooling_down_until"] is None
    assert any(m["model"] == "gpt-4o-mini" for m in providers["openai"]["models"])


def test_provider_without_an_api_key_is_skipped_for_the_next_candidate(fake_llm, acme, settings):
    settings.OPENAI_API_KEY = ""
    response = ask(api_as(acme, "erin"), "fall through", route=ROUTE)
    assert response.status_code == 200, response.json()
    assert response.json()["provider"] == "anthropic"
    assert fake_llm.hits("openai") == 0


def test_route_whose_providers_have_no_api_key_is_503_saying_so(acme, settings):
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = ""
    response = ask(api_as(acme, "erin"), route=ROUTE)
    assert response.status_code == 503
    assert "no API key configured" in json.dumps(response.json())
