"""OpenAI Chat Completions adapter; also serves OpenAI-compatible servers (vLLM, Ollama, LM Studio, gateways)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx2
import openai

from llm.providers.base import (
    ChatMessage,
    ErrorKind,
    ImageRequest,
    ImageResponse,
    LLMRequest,
    LLMResponse,
    ProviderConfig,
    ProviderError,
    StreamDelta,
    ToolCall,
    TranscriptionRequest,
    TranscriptionResponse,
    count_or_zero,
    function_message,
    function_tool,
    is_content_policy,
    kind_for_status,
    normalize_finish_reason,
    retry_after_seconds,
    transport_error,
)

# Local servers ignore the key, but the SDK refuses to start without one.
_PLACEHOLDER_KEY = "unused"


class OpenAIProvider:
    """Calls `chat.completions.create` with SDK retries off: failover and backoff belong to the gateway."""

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self._compatible = config.kind == "openai_compatible"
        api_key = config.api_key or (_PLACEHOLDER_KEY if self._compatible else config.api_key)
        self._client = openai.OpenAI(api_key=api_key, base_url=config.base_url, max_retries=0)

    def complete(self, request: LLMRequest) -> LLMResponse:
        """Return the whole completion."""
        try:
            completion = self._client.chat.completions.create(**self._arguments(request))
        except (openai.APIError, httpx2.TransportError) as exc:
            raise self._error(exc) from exc
        choice = completion.choices[0] if completion.choices else None
        usage = completion.usage
        return LLMResponse(
            content=(choice.message.content or "") if choice else "",
            finish_reason=normalize_finish_reason(choice.finish_reason if choice else None),
            input_tokens=count_or_zero(usage.prompt_tokens if usage else None),
            output_tokens=count_or_zero(usage.completion_tokens if usage else None),
            provider_request_id=completion._request_id or completion.id,
            model=completion.model or request.model,
            tool_calls=tuple(
                ToolCall(call.id, call.function.name, call.function.arguments or "{}")
                for call in ((choice.message.tool_calls or []) if choice else [])
                if call.type == "function"
            ),
        )

    def stream(self, request: LLMRequest) -> Iterator[StreamDelta | LLMResponse]:
        """Yield text deltas, then the final response with the usage sent in the last chunk."""
        try:
            chunks = self._client.chat.completions.create(
                **self._arguments(request), stream=True, stream_options={"include_usage": True}
            )
        except (openai.APIError, httpx2.TransportError) as exc:
            raise self._error(exc) from exc
        parts: list[str] = []
        finish_reason: str | None = None
        input_tokens = output_tokens = 0
        model = request.model
        request_id = chunks.response.headers.get("x-request-id", "")
        # A streamed tool call arrives in pieces keyed by its index: id and name first, then the
        # arguments' JSON text in fragments.
        calls: dict[int, dict[str, str]] = {}
        with chunks:
            try:
                for chunk in chunks:
                    model = chunk.model or model
                    request_id = request_id or chunk.id
                    if chunk.usage:
                        input_tokens = count_or_zero(chunk.usage.prompt_tokens)
                        output_tokens = count_or_zero(chunk.usage.completion_tokens)
                    for choice in chunk.choices[:1]:
                        finish_reason = choice.finish_reason or finish_reason
                        if choice.delta and choice.delta.content:
                            parts.append(choice.delta.content)
                            yield StreamDelta(choice.delta.content)
                        for piece in (choice.delta.tool_calls or []) if choice.delta else []:
                            call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                            call["id"] = piece.id or call["id"]
                            if piece.function:
                                call["name"] = piece.function.name or call["name"]
                                call["arguments"] += piece.function.arguments or ""
            except (openai.APIError, httpx2.TransportError) as exc:
                raise self._error(exc) from exc
        yield LLMResponse(
            content="".join(parts),
            finish_reason=normalize_finish_reason(finish_reason),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            provider_request_id=request_id,
            model=model,
            tool_calls=tuple(ToolCall(c["id"], c["name"], c["arguments"] or "{}") for _, c in sorted(calls.items())),
        )

    def generate_images(self, request: ImageRequest) -> ImageResponse:
        """Generate images (`images.generate`), answered in base64 and returned as bytes."""
        arguments: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "n": request.n,
            "size": request.size,
            "timeout": request.timeout_seconds,
        }
        if request.quality:
            arguments["quality"] = request.quality
        if request.model.startswith("dall-e"):
            # The DALL-E models answer with URLs unless asked otherwise; gpt-image-1 only speaks base64.
            arguments["response_format"] = "b64_json"
        try:
            result = self._client.images.generate(**arguments)
        except (openai.APIError, httpx2.TransportError) as exc:
            raise self._error(exc) from exc
        data = result.data or []
        return ImageResponse(
            images=tuple(base64.b64decode(item.b64_json) for item in data if item.b64_json),
            revised_prompt=next((item.revised_prompt for item in data if item.revised_prompt), "") or "",
            provider_request_id=result._request_id or "",
            model=request.model,
        )

    def transcribe(self, request: TranscriptionRequest) -> TranscriptionResponse:
        """Transcribe audio (`audio.transcriptions.create`), with its language and duration when known."""
        # whisper-1 states language and duration in `verbose_json`; the gpt-4o models only speak `json`.
        verbose = request.model.startswith("whisper")
        arguments: dict[str, Any] = {
            "model": request.model,
            "file": (request.filename, request.audio, request.content_type),
            "response_format": "verbose_json" if verbose else "json",
            "timeout": request.timeout_seconds,
        }
        if request.language:
            arguments["language"] = request.language
        try:
            result = self._client.audio.transcriptions.create(**arguments)
        except (openai.APIError, httpx2.TransportError) as exc:
            raise self._error(exc) from exc
        usage = getattr(result, "usage", None)
        duration = getattr(result, "duration", None) or getattr(usage, "seconds", None) or 0.0
        return TranscriptionResponse(
            text=result.text,
            language=getattr(result, "language", None) or request.language,
            duration=float(duration),
            provider_request_id=getattr(result, "_request_id", None) or "",
            model=request.model,
        )

    def _arguments(self, request: LLMRequest) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "model": request.model,
            "messages": [_message(message) for message in request.messages],
            "timeout": request.timeout_seconds,
        }
        if request.tools:
            arguments["tools"] = [function_tool(tool) for tool in request.tools]
        if request.temperature is not None:
            arguments["temperature"] = request.temperature
        if request.max_tokens is not None:
            # OpenAI's reasoning models reject `max_tokens`; most compatible servers only know that name.
            arguments["max_tokens" if self._compatible else "max_completion_tokens"] = request.max_tokens
        if request.response_format_json:
            arguments["response_format"] = {"type": "json_object"}
        return arguments

    def _error(self, exc: openai.APIError | httpx2.TransportError) -> ProviderError:
        if isinstance(exc, httpx2.TransportError):
            return transport_error(exc, self.name)
        if isinstance(exc, openai.APITimeoutError):
            return ProviderError(ErrorKind.TIMEOUT, exc.message, provider=self.name)
        if isinstance(exc, openai.APIConnectionError):
            return ProviderError(ErrorKind.CONNECTION, exc.message, provider=self.name)
        message = _body_message(exc.body) or exc.message
        if isinstance(exc, openai.APIStatusError):
            return ProviderError(
                kind_for_status(exc.status_code, exc.code, exc.type),
                message,
                status_code=exc.status_code,
                retry_after=retry_after_seconds(exc.response.headers),
                provider=self.name,
            )
        # An error event inside a 200 stream, or a body the SDK could not parse: no status to go by.
        if is_content_policy(exc.code, exc.type):
            return ProviderError(ErrorKind.CONTENT_POLICY, message, provider=self.name)
        return ProviderError(kind_for_status(500, exc.code, exc.type), message, provider=self.name)


def _message(message: ChatMessage) -> dict[str, Any]:
    return function_message(message)


def _body_message(body: object) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return None
