"""Provider adapters drive the official SDKs against a local fake of each API and speak one shape back.

No database and no Temporal: adapters take their configuration as arguments.
"""

import pickle
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from llm.providers import (
    ChatMessage,
    ErrorKind,
    LLMRequest,
    LLMResponse,
    Provider,
    ProviderConfig,
    ProviderError,
    StreamDelta,
    build_provider,
)
from llm.providers.base import retry_after_seconds
from tests.support.fake_llm import Delay, Error, FakeLLMServer, Reply

KINDS = ["openai", "anthropic", "mistral", "openai_compatible"]
COMPATIBLE_NAME = "vllm"

QUESTION = LLMRequest(
    model="test-model",
    messages=(
        ChatMessage("system", "You are terse."),
        ChatMessage("user", "what is two plus two"),
    ),
)


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as fake:
        yield fake


def config_for(server: FakeLLMServer, kind: str) -> ProviderConfig:
    urls = {
        "openai": server.openai_url,
        "anthropic": server.anthropic_url,
        "mistral": server.mistral_url,
        "openai_compatible": server.compatible_url(COMPATIBLE_NAME),
    }
    name = COMPATIBLE_NAME if kind == "openai_compatible" else ""
    return ProviderConfig(kind=kind, api_key=f"key-{kind}", base_url=urls[kind], name=name)


def provider_for(server: FakeLLMServer, kind: str) -> Provider:
    return build_provider(config_for(server, kind))


def route(kind: str) -> str:
    """The name the fake records and scripts a provider's requests under."""
    return COMPATIBLE_NAME if kind == "openai_compatible" else kind


def failure(provider: Provider, request: LLMRequest = QUESTION) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        provider.complete(request)
    return caught.value


# Successful calls


@pytest.mark.parametrize("kind", KINDS)
def test_complete_returns_text_finish_reason_tokens_and_request_id(server: FakeLLMServer, kind: str) -> None:
    response = provider_for(server, kind).complete(QUESTION)

    assert response == LLMResponse(
        content="what is two plus two",
        finish_reason="stop",
        input_tokens=8,
        output_tokens=5,
        provider_request_id=server.last(route(kind)).request_id,
        model="test-model",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_stream_yields_deltas_then_final_response_with_usage(server: FakeLLMServer, kind: str) -> None:
    items = list(provider_for(server, kind).stream(QUESTION))

    assert items[:-1] == [StreamDelta(text) for text in ["what", " is", " two", " plus", " two"]]
    assert items[-1] == LLMResponse(
        content="what is two plus two",
        finish_reason="stop",
        input_tokens=8,
        output_tokens=5,
        provider_request_id=server.last(route(kind)).request_id,
        model="test-model",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_scripted_reply_text_is_returned(server: FakeLLMServer, kind: str) -> None:
    server.script(route(kind), [Reply("four")])

    assert provider_for(server, kind).complete(QUESTION).content == "four"


@pytest.mark.parametrize(
    ("kind", "raw_reason"), [("openai", "length"), ("anthropic", "max_tokens"), ("mistral", "model_length")]
)
def test_truncation_is_reported_as_length_for_every_provider(server: FakeLLMServer, kind: str, raw_reason: str) -> None:
    server.script(route(kind), [Reply("cut", finish_reason=raw_reason)])

    assert provider_for(server, kind).complete(QUESTION).finish_reason == "length"


def test_openai_compatible_kind_calls_its_own_base_url(server: FakeLLMServer) -> None:
    provider_for(server, "openai_compatible").complete(QUESTION)

    assert (server.hits(COMPATIBLE_NAME), server.hits("openai")) == (1, 0)
    assert server.last(COMPATIBLE_NAME).path == f"/{COMPATIBLE_NAME}/v1/chat/completions"


def test_openai_compatible_kind_works_without_an_api_key(server: FakeLLMServer) -> None:
    config = ProviderConfig(kind="openai_compatible", api_key="", base_url=server.compatible_url("ollama"))

    assert build_provider(config).complete(QUESTION).content == "what is two plus two"


def test_openai_sends_max_completion_tokens_temperature_and_json_mode(server: FakeLLMServer) -> None:
    request = LLMRequest(
        model="gpt", messages=QUESTION.messages, temperature=0.2, max_tokens=50, response_format_json=True
    )
    provider_for(server, "openai").complete(request)

    body = server.last("openai").body
    assert (body["max_completion_tokens"], body["temperature"]) == (50, 0.2)
    assert body["response_format"] == {"type": "json_object"}
    assert "max_tokens" not in body


def test_openai_compatible_sends_max_tokens(server: FakeLLMServer) -> None:
    provider_for(server, "openai_compatible").complete(LLMRequest(model="m", messages=QUESTION.messages, max_tokens=50))

    body = server.last(COMPATIBLE_NAME).body
    assert body["max_tokens"] == 50
    assert "max_completion_tokens" not in body


def test_openai_stream_asks_for_usage(server: FakeLLMServer) -> None:
    list(provider_for(server, "openai").stream(QUESTION))

    assert server.last("openai").body["stream_options"] == {"include_usage": True}


def test_anthropic_system_messages_go_to_the_system_parameter(server: FakeLLMServer) -> None:
    request = LLMRequest(
        model="claude",
        messages=(ChatMessage("system", "Be terse."), ChatMessage("system", "Use metric."), ChatMessage("user", "hi")),
    )
    provider_for(server, "anthropic").complete(request)

    body = server.last("anthropic").body
    assert body["system"] == "Be terse.\n\nUse metric."
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_anthropic_defaults_max_tokens_and_leaves_out_temperature(server: FakeLLMServer) -> None:
    provider_for(server, "anthropic").complete(LLMRequest(model="claude", messages=QUESTION.messages, temperature=0.3))

    body = server.last("anthropic").body
    assert body["max_tokens"] == 1024
    assert "temperature" not in body


def test_anthropic_json_mode_is_asked_for_in_the_system_prompt(server: FakeLLMServer) -> None:
    provider_for(server, "anthropic").complete(
        LLMRequest(model="c", messages=QUESTION.messages, response_format_json=True)
    )

    assert server.last("anthropic").body["system"].endswith("Respond with a single valid JSON object and nothing else.")


def test_anthropic_refusal_is_reported_as_content_filter(server: FakeLLMServer) -> None:
    server.script("anthropic", [Reply("", finish_reason="refusal")])

    assert provider_for(server, "anthropic").complete(QUESTION).finish_reason == "content_filter"


def test_mistral_sends_temperature_max_tokens_and_json_mode(server: FakeLLMServer) -> None:
    request = LLMRequest(
        model="m", messages=QUESTION.messages, temperature=0.1, max_tokens=9, response_format_json=True
    )
    provider_for(server, "mistral").complete(request)

    body = server.last("mistral").body
    assert (body["temperature"], body["max_tokens"], body["response_format"]) == (0.1, 9, {"type": "json_object"})


def test_mistral_request_ids_stay_with_their_own_thread(server: FakeLLMServer) -> None:
    provider = provider_for(server, "mistral")

    def ask(number: int) -> tuple[str, str]:
        response = provider.complete(LLMRequest(model="m", messages=(ChatMessage("user", f"question {number}"),)))
        return response.content, response.provider_request_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = dict(pool.map(ask, range(16)))

    sent = {request.body["messages"][0]["content"]: request.request_id for request in server.requests}
    assert answers == sent


# Errors


ERROR_CASES = [
    (Error(429), ErrorKind.RATE_LIMIT),
    (Error(500), ErrorKind.SERVER),
    (Error(503), ErrorKind.SERVER),
    (Error(529), ErrorKind.OVERLOADED),
    (Error(400), ErrorKind.INVALID_REQUEST),
    (Error(422), ErrorKind.INVALID_REQUEST),
    (Error(401), ErrorKind.AUTH),
    (Error(403), ErrorKind.AUTH),
    (Error(404), ErrorKind.NOT_FOUND),
]


@pytest.mark.parametrize(("error", "expected"), ERROR_CASES, ids=lambda case: str(getattr(case, "status", case)))
@pytest.mark.parametrize("kind", KINDS)
def test_error_status_maps_to_error_kind(server: FakeLLMServer, kind: str, error: Error, expected: ErrorKind) -> None:
    server.script(route(kind), [error])

    raised = failure(provider_for(server, kind))

    assert (raised.kind, raised.status_code, raised.message) == (expected, error.status, "scripted failure")


@pytest.mark.parametrize("code", ["content_policy_violation", "content_filter"])
@pytest.mark.parametrize("kind", ["openai", "openai_compatible", "mistral"])
def test_content_policy_code_maps_to_content_policy(server: FakeLLMServer, kind: str, code: str) -> None:
    server.script(route(kind), [Error(400, code=code)])

    raised = failure(provider_for(server, kind))

    assert (raised.kind, raised.kind.failover) == (ErrorKind.CONTENT_POLICY, False)


def test_anthropic_overloaded_error_type_is_overloaded_whatever_the_status(server: FakeLLMServer) -> None:
    server.script("anthropic", [Error(500, type="overloaded_error")])

    assert failure(provider_for(server, "anthropic")).kind == ErrorKind.OVERLOADED


@pytest.mark.parametrize(
    ("error", "expected"), [(Error(529), ErrorKind.OVERLOADED), (Error(400), ErrorKind.INVALID_REQUEST)]
)
def test_anthropic_error_event_inside_a_stream_is_classified_by_its_type(
    server: FakeLLMServer, error: Error, expected: ErrorKind
) -> None:
    server.script("anthropic", [Error(error.status, mid_stream=True)])
    received: list[StreamDelta | LLMResponse] = []

    with pytest.raises(ProviderError) as caught:
        received.extend(provider_for(server, "anthropic").stream(QUESTION))

    assert received == [StreamDelta("partial")]
    assert (caught.value.kind, caught.value.status_code) == (expected, None)


def test_openai_error_inside_a_stream_fails_over(server: FakeLLMServer) -> None:
    server.script("openai", [Error(500, mid_stream=True)])

    with pytest.raises(ProviderError) as caught:
        list(provider_for(server, "openai").stream(QUESTION))

    assert (caught.value.kind, caught.value.kind.failover) == (ErrorKind.SERVER, True)


@pytest.mark.parametrize("kind", KINDS)
def test_stream_refused_before_any_text_raises_provider_error(server: FakeLLMServer, kind: str) -> None:
    server.script(route(kind), [Error(429)])

    with pytest.raises(ProviderError) as caught:
        next(iter(provider_for(server, kind).stream(QUESTION)))

    assert caught.value.kind == ErrorKind.RATE_LIMIT


@pytest.mark.parametrize("kind", KINDS)
def test_retry_after_header_is_read(server: FakeLLMServer, kind: str) -> None:
    server.script(route(kind), [Error(429, retry_after=2)])

    assert failure(provider_for(server, kind)).retry_after == 2.0


@pytest.mark.parametrize("kind", KINDS)
def test_sdk_does_not_retry_a_failed_request(server: FakeLLMServer, kind: str) -> None:
    server.script(route(kind), [Error(500)])

    failure(provider_for(server, kind))

    assert server.hits(route(kind)) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_slow_answer_times_out(server: FakeLLMServer, kind: str) -> None:
    server.script(route(kind), [Delay(2)])
    request = LLMRequest(model="m", messages=QUESTION.messages, timeout_seconds=0.2)

    raised = failure(provider_for(server, kind), request)

    assert (raised.kind, raised.kind.failover) == (ErrorKind.TIMEOUT, True)


@pytest.mark.parametrize("kind", KINDS)
def test_unreachable_server_is_a_connection_error(kind: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}" + ("/v1" if kind in ("openai", "openai_compatible") else "")
    provider = build_provider(ProviderConfig(kind=kind, api_key="k", base_url=base_url))

    raised = failure(provider)

    assert (raised.kind, raised.kind.failover) == (ErrorKind.CONNECTION, True)


# The shared vocabulary


@pytest.mark.parametrize(
    ("kind", "failover"),
    [
        (ErrorKind.RATE_LIMIT, True),
        (ErrorKind.OVERLOADED, True),
        (ErrorKind.SERVER, True),
        (ErrorKind.TIMEOUT, True),
        (ErrorKind.CONNECTION, True),
        (ErrorKind.INVALID_REQUEST, False),
        (ErrorKind.AUTH, False),
        (ErrorKind.CONTENT_POLICY, False),
        (ErrorKind.NOT_FOUND, False),
    ],
)
def test_error_kind_says_whether_to_fail_over(kind: ErrorKind, failover: bool) -> None:
    assert kind.failover is failover


def test_retry_after_accepts_an_http_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

    assert 28 <= (retry_after_seconds({"retry-after": later}) or 0) <= 30


def test_retry_after_prefers_milliseconds_header() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5


def test_provider_error_survives_pickling() -> None:
    error = ProviderError(ErrorKind.RATE_LIMIT, "slow down", status_code=429, retry_after=2.0, provider="openai")

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert (copy.kind, copy.message, copy.status_code, copy.retry_after, copy.provider) == (
        ErrorKind.RATE_LIMIT,
        "slow down",
        429,
        2.0,
        "openai",
    )


def test_provider_config_name_defaults_to_kind() -> None:
    assert ProviderConfig(kind="mistral", api_key="k").name == "mistral"


def test_provider_config_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown provider kind"):
        ProviderConfig(kind="cohere", api_key="k")


def test_openai_compatible_config_needs_a_base_url() -> None:
    with pytest.raises(ValueError, match="base_url"):
        ProviderConfig(kind="openai_compatible", api_key="k")
