"""Mistral chat adapter (mistralai 2+, whose client lives in `mistralai.client`)."""

from __future__ import annotations

import functools
import json
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import httpx2
from mistralai.client import Mistral, errors, models
from mistralai.client.utils import BackoffStrategy, RetryConfig

from llm.providers.base import (
    ErrorKind,
    LLMRequest,
    LLMResponse,
    ProviderConfig,
    ProviderError,
    StreamDelta,
    ToolCall,
    count_or_zero,
    function_message,
    function_tool,
    kind_for_status,
    normalize_finish_reason,
    retry_after_seconds,
    transport_error,
)

# Retries are already off by default; saying so keeps an SDK default change from adding hidden ones.
_NO_RETRIES = RetryConfig("none", BackoffStrategy(0, 0, 1.0, 0), retry_connection_errors=False)
# Mistral has used more than one header for its request id; the first one present wins.
_REQUEST_ID_HEADERS = ("x-request-id", "mistral-correlation-id", "x-kong-request-id")


class MistralProvider:
    """Calls `chat.complete` / `chat.stream` with SDK retries off: failover belongs to the gateway."""

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        # `chat.complete` returns only the parsed body; a response hook keeps the headers (for the
        # request id), per thread because one provider serves many activity threads at once.
        self._last_headers = threading.local()
        remember = functools.partial(_remember_headers, self._last_headers)
        http = httpx2.Client(follow_redirects=True, event_hooks={"response": [remember]})
        # The SDK closes only clients it made itself; close ours when this provider goes away.
        weakref.finalize(self, http.close)
        self._client = Mistral(
            api_key=config.api_key, server_url=config.base_url, client=http, retry_config=_NO_RETRIES
        )

    def complete(self, request: LLMRequest) -> LLMResponse:
        """Return the whole completion."""
        self._last_headers.value = httpx2.Headers()
        try:
            completion = self._client.chat.complete(**_arguments(request))
        except (errors.MistralError, errors.NoResponseError, httpx2.TransportError) as exc:
            raise self._error(exc) from exc
        choice = completion.choices[0] if completion.choices else None
        return LLMResponse(
            content=_text(choice.message.content) if choice and choice.message else "",
            finish_reason=normalize_finish_reason(choice.finish_reason if choice else None),
            input_tokens=count_or_zero(completion.usage.prompt_tokens),
            output_tokens=count_or_zero(completion.usage.completion_tokens),
            provider_request_id=_request_id(self._last_headers.value) or completion.id,
            model=completion.model or request.model,
            tool_calls=tuple(
                _tool_call(call) for call in (choice.message.tool_calls or []) if choice and choice.message
            ),
        )

    def stream(self, request: LLMRequest) -> Iterator[StreamDelta | LLMResponse]:
        """Yield text deltas, then the final response with the usage sent in the last chunk."""
        try:
            events = self._client.chat.stream(**_arguments(request))
        except (errors.MistralError, errors.NoResponseError, httpx2.TransportError) as exc:
            raise self._error(exc) from exc
        parts: list[str] = []
        finish_reason: str | None = None
        input_tokens = output_tokens = 0
        model = request.model
        request_id = _request_id(events.response.headers)
        with events:
            try:
                for event in events:
                    chunk = event.data
                    model = chunk.model or model
                    request_id = request_id or chunk.id
                    if chunk.usage:
                        input_tokens = count_or_zero(chunk.usage.prompt_tokens)
                        output_tokens = count_or_zero(chunk.usage.completion_tokens)
                    for choice in chunk.choices[:1]:
                        finish_reason = choice.finish_reason or finish_reason
                        if text := _text(choice.delta.content):
                            parts.append(text)
                            yield StreamDelta(text)
            except (errors.MistralError, httpx2.TransportError) as exc:
                raise self._error(exc) from exc
        yield LLMResponse(
            content="".join(parts),
            finish_reason=normalize_finish_reason(finish_reason),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            provider_request_id=request_id,
            model=model,
        )

    def _error(self, exc: errors.MistralError | errors.NoResponseError | httpx2.TransportError) -> ProviderError:
        if isinstance(exc, httpx2.TransportError):
            return transport_error(exc, self.name)
        if isinstance(exc, errors.NoResponseError):
            return ProviderError(ErrorKind.CONNECTION, exc.message, provider=self.name)
        if isinstance(exc, errors.ResponseValidationError):
            return ProviderError(ErrorKind.SERVER, exc.message, status_code=exc.status_code, provider=self.name)
        body = _json_object(exc.body)
        code, kind = body.get("code"), body.get("type")
        message = body.get("message")
        return ProviderError(
            kind_for_status(exc.status_code, str(code) if code is not None else None, kind),
            message if isinstance(message, str) else exc.body or exc.message,
            status_code=exc.status_code,
            retry_after=retry_after_seconds(exc.headers),
            provider=self.name,
        )


def _remember_headers(store: threading.local, response: httpx2.Response) -> None:
    store.value = response.headers


def _arguments(request: LLMRequest) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "model": request.model,
        "messages": [function_message(message) for message in request.messages],
        "timeout_ms": round(request.timeout_seconds * 1000),
    }
    if request.tools:
        arguments["tools"] = [function_tool(tool) for tool in request.tools]
    if request.temperature is not None:
        arguments["temperature"] = request.temperature
    if request.max_tokens is not None:
        arguments["max_tokens"] = request.max_tokens
    if request.response_format_json:
        arguments["response_format"] = {"type": "json_object"}
    return arguments


def _tool_call(call: models.ToolCall) -> ToolCall:
    # Mistral may give the arguments as a parsed object rather than JSON text.
    arguments = call.function.arguments
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(call.id or "", call.function.name, text or "{}")


def _text(content: str | list[models.ContentChunk] | None) -> str:
    # Content is a string, or chunks when a reasoning model interleaves "thinking" with its text.
    if isinstance(content, str):
        return content
    return "".join(chunk.text for chunk in content or () if isinstance(chunk, models.TextChunk))


def _request_id(headers: httpx2.Headers) -> str:
    return next((headers[name] for name in _REQUEST_ID_HEADERS if headers.get(name)), "")


def _json_object(body: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
