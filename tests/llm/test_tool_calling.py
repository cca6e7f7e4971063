"""Native tool calling through each official SDK against the fake provider server: tools offered in
the provider's own shape, tool calls read back into one shape, tool results sent back natively."""

import json

import pytest

from llm.providers import ChatMessage, LLMRequest, LLMResponse, build_provider
from llm.providers.base import ToolCall, ToolSpec
from tests.llm.test_providers import KINDS, config_for, server  # noqa: F401  (fixture)
from tests.support.fake_llm import Reply

WEATHER = ToolSpec(
    name="weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ASK = LLMRequest(model="m", messages=(ChatMessage("user", "weather in Paris?"),), tools=(WEATHER,))


@pytest.mark.parametrize("kind", KINDS)
def test_a_tool_call_comes_back_in_one_shape(server, kind):  # noqa: F811
    server.script(server_name(kind), [Reply(tool_calls=(("weather", {"city": "Paris"}),))])
    response = build_provider(config_for(server, kind)).complete(ASK)
    assert response.finish_reason == "tool_calls"
    [call] = response.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("weather", {"city": "Paris"})
    sent = server.last(server_name(kind)).body
    if kind == "anthropic":
        assert sent["tools"] == [
            {"name": "weather", "description": WEATHER.description, "input_schema": WEATHER.parameters}
        ]
    else:
        assert sent["tools"][0]["function"]["name"] == "weather"
        assert sent["tools"][0]["function"]["parameters"] == WEATHER.parameters


@pytest.mark.parametrize("kind", KINDS)
def test_tool_results_go_back_in_the_native_format(server, kind):  # noqa: F811
    call = ToolCall("call_1", "weather", json.dumps({"city": "Paris"}))
    follow_up = LLMRequest(
        model="m",
        messages=(
            ChatMessage("user", "weather in Paris?"),
            ChatMessage("assistant", "", tool_calls=(call,)),
            ChatMessage("tool", '{"sky": "clear"}', tool_call_id="call_1", name="weather"),
        ),
        tools=(WEATHER,),
    )
    server.script(server_name(kind), [Reply("It is clear.")])
    response = build_provider(config_for(server, kind)).complete(follow_up)
    assert (response.content, response.tool_calls) == ("It is clear.", ())
    messages = server.last(server_name(kind)).body["messages"]
    if kind == "anthropic":
        assert messages[1]["content"][0] == {
            "type": "tool_use",
            "id": "call_1",
            "name": "weather",
            "input": {"city": "Paris"},
        }
        assert messages[2] == {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": '{"sky": "clear"}'}],
        }
    else:
        assert messages[1]["tool_calls"][0]["function"] == {"name": "weather", "arguments": call.arguments}
        assert messages[2]["role"] == "tool" and messages[2]["tool_call_id"] == "call_1"


def test_openai_streamed_tool_calls_are_reassembled(server):  # noqa: F811
    arguments = {"city": "Paris", "units": "metric", "note": "a long enough value to span fragments"}
    server.script("openai", [Reply(tool_calls=(("weather", arguments), ("weather", {"city": "Oslo"})))])
    events = list(build_provider(config_for(server, "openai")).stream(ASK))
    final = events[-1]
    assert isinstance(final, LLMResponse) and final.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in final.tool_calls] == [
        ("weather", arguments),
        ("weather", {"city": "Oslo"}),
    ]
    assert len({c.id for c in final.tool_calls}) == 2


def server_name(kind: str) -> str:
    return "vllm" if kind == "openai_compatible" else kind
