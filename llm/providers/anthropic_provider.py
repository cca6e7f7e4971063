"""Anthropic Messages API adapter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
from anthropic.types import Usage

from llm.providers.base import (
    ErrorKind,
    LLMRequest,
    LLMResponse,
    ProviderConfig,
    ProviderError,
    StreamDelta,
    ToolCall,
    count_or_zero,
    kind_for_status,
    normalize_finish_reason,
    retry_after_seconds,
    transport_error,
)

# The Messages API requires max_tokens; this is the cap when the caller sets none.
DEFAULT_MAX_TOKENS = 1024

# The API has no JSON switch without a schema, so JSON mode is asked for in the system prompt.
JSON_INSTRUCTION = "Respond with a single valid JSON object and nothing else."

_STATUS_BY_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class AnthropicProvider:
    """Calls `messages.create` with SDK retries off: failover and backoff belong to the gateway."""

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self._client = anthropic.Anthropic(api_key=config.api_key, base_url=config.base_url, max_retries=0)

    def complete(self, request: LLMRequest) -> LLMResponse:
        """Return the whole completion."""
        try:
            message = self._client.messages.create(**_arguments(request))
        except (anthropic.APIError, httpx2.TransportError) as exc:
            raise self._error(exc) from exc
        return LLMResponse(
            content="".join(block.text for block in message.content if block.type == "text"),
            finish_reason=normalize_finish_reason(message.stop_reason),
            input_tokens=_input_tokens(message.usage),
            output_tokens=count_or_zero(message.usage.output_tokens),
            provider_request_id=message._request_id or message.id,
            model=message.model or request.model,
            tool_calls=tuple(
                ToolCall(block.id, block.name, json.dumps(block.input))
                for block in message.content
                if block.type == "tool_use"
            ),
        )

    def stream(self, request: LLMRequest) -> Iterator[StreamDelta | LLMResponse]:
        """Yield text deltas, then the final response; input usage comes first, output usage last."""
        try:
            events = self._client.messages.create(**_arguments(request), stream=True)
        except (anthropic.APIError, httpx2.TransportError) as exc:
            raise self._error(exc) from exc
        parts: list[str] = []
        stop_reason: str | None = None
        input_tokens = output_tokens = 0
        model = request.model
        request_id = events.response.headers.get("request-id", "")
        with events:
            try:
                for event in events:
                    if event.type == "message_start":
                        model = event.message.model or model
                        request_id = request_id or event.message.id
                        input_tokens = _input_tokens(event.message.usage)
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        parts.append(event.delta.text)
                        yield StreamDelta(event.delta.text)
                    elif event.type == "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        output_tokens = count_or_zero(event.usage.output_tokens)
            except (anthropic.APIError, httpx2.TransportError) as exc:
                raise self._error(exc) from exc
        yield LLMResponse(
            content="".join(parts),
            finish_reason=normalize_finish_reason(stop_reason),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            provider_request_id=request_id,
            model=model,
        )

    def _error(self, exc: anthropic.APIError | httpx2.TransportError) -> ProviderError:
        if isinstance(exc, httpx2.TransportError):
            return transport_error(exc, self.name)
        if isinstance(exc, anthropic.APITimeoutError):
            return ProviderError(ErrorKind.TIMEOUT, exc.message, provider=self.name)
        if isinstance(exc, anthropic.APIConnectionError):
            return ProviderError(ErrorKind.CONNECTION, exc.message, provider=self.name)
        if not isinstance(exc, anthropic.APIStatusError):
            return ProviderError(ErrorKind.SERVER, exc.message, provider=self.name)
        # An `error` event inside a stream arrives with the stream's 200 status (the SDK then raises
        # a plain APIStatusError): only the body's error type says what went wrong.
        in_stream = exc.status_code < 400
        status = _STATUS_BY_ERROR_TYPE.get(exc.type or "", 500) if in_stream else exc.status_code
        return ProviderError(
            kind_for_status(status, exc.type, exc.error_code),
            exc.api_message or exc.message,
            status_code=None if in_stream else exc.status_code,
            retry_after=retry_after_seconds(exc.response.headers),
            provider=self.name,
        )


def _arguments(request: LLMRequest) -> dict[str, Any]:
    # `temperature` is deliberately not sent: this SDK dropped it and the API version it speaks
    # rejects every sampling parameter with a 400.
    system = [message.content for message in request.messages if message.role == "system"]
    if request.response_format_json:
        system.append(JSON_INSTRUCTION)
    arguments: dict[str, Any] = {
        "model": request.model,
        "messages": _messages(request),
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "timeout": request.timeout_seconds,
    }
    if system:
        arguments["system"] = "\n\n".join(system)
    if request.tools:
        arguments["tools"] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            for tool in request.tools
        ]
    return arguments


def _messages(request: LLMRequest) -> list[dict[str, Any]]:
    """Messages in Anthropic's shape: tool calls are `tool_use` blocks of the assistant turn, and the
    results of one turn's calls go back together as `tool_result` blocks of a single user turn."""
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            block = {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif message.tool_calls:
            blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": json.loads(c.arguments or "{}")}
                for c in message.tool_calls
            ]
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": message.role, "content": message.content})
    return out


def _input_tokens(usage: Usage) -> int:
    # Cached prompt tokens are reported apart; add them so the total matches what other providers count.
    return (
        count_or_zero(usage.input_tokens)
        + count_or_zero(usage.cache_creation_input_tokens)
        + count_or_zero(usage.cache_read_input_tokens)
    )
