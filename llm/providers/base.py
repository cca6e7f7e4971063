"""One request/response shape for every LLM provider, and the errors the gateway acts on.

Nothing here imports Django: adapters run inside Temporal activities and views alike, so
configuration is passed in as a `ProviderConfig` rather than read from settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Protocol

import httpx2

PROVIDER_KINDS = ("openai", "anthropic", "mistral", "openai_compatible")


@dataclass(frozen=True)
class ToolCall:
    """A tool the model asks to call: the provider's call id, the tool's name and its arguments as JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model: `parameters` is a JSON Schema object."""

    name: str
    description: str
    parameters: dict


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation; `role` is "system", "user", "assistant" or "tool".

    An assistant turn may carry `tool_calls`; a "tool" turn answers the call `tool_call_id`
    (named `name`) with `content`. Each adapter maps these onto its provider's native format.
    """

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class LLMRequest:
    """A chat completion request, independent of any provider's SDK."""

    model: str
    messages: tuple[ChatMessage, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    response_format_json: bool = False
    timeout_seconds: float = 60.0
    tools: tuple[ToolSpec, ...] = ()


@dataclass(frozen=True)
class LLMResponse:
    """A finished completion.

    `finish_reason` uses OpenAI's vocabulary ("stop", "length", "content_filter", "tool_calls")
    whatever the provider said, so callers need not know each provider's words.
    """

    content: str
    finish_reason: str
    input_tokens: int
    output_tokens: int
    provider_request_id: str
    model: str
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class StreamDelta:
    """A piece of generated text, in order."""

    text: str


class ErrorKind(StrEnum):
    """Why a provider call failed, in the terms the gateway decides on."""

    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    SERVER = "server"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    INVALID_REQUEST = "invalid_request"
    AUTH = "auth"
    CONTENT_POLICY = "content_policy"
    NOT_FOUND = "not_found"

    @property
    def failover(self) -> bool:
        """True when another provider may well succeed (and this one should cool down)."""
        return self in _FAILOVER_KINDS


_FAILOVER_KINDS = frozenset(
    {ErrorKind.RATE_LIMIT, ErrorKind.OVERLOADED, ErrorKind.SERVER, ErrorKind.TIMEOUT, ErrorKind.CONNECTION}
)


class ProviderError(Exception):
    """A provider call failed; `kind` says whether to fail over, `retry_after` how long to back off."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        provider: str = "",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.provider = provider

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments are lost by the default pickling of exceptions; keep them so the
        # error survives crossing a process or thread-pool boundary intact.
        return (_rebuild_error, (self.kind, self.message, self.status_code, self.retry_after, self.provider))

    def __str__(self) -> str:
        where = f"{self.provider}: " if self.provider else ""
        status = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        return f"{where}{self.kind.value}{status}: {self.message}"


def _rebuild_error(
    kind: ErrorKind, message: str, status_code: int | None, retry_after: float | None, provider: str
) -> ProviderError:
    return ProviderError(kind, message, status_code=status_code, retry_after=retry_after, provider=provider)


@dataclass(frozen=True)
class ProviderConfig:
    """How to reach one provider account; `name` (default: the kind) labels it in errors and metrics.

    `scope` says whose account it is: `platform`, or `tenant-<id>` for a tenant's own credential.
    """

    kind: str
    api_key: str = field(repr=False)
    base_url: str | None = None
    name: str = ""
    scope: str = "platform"

    def __post_init__(self) -> None:
        if self.kind not in PROVIDER_KINDS:
            raise ValueError(f"unknown provider kind {self.kind!r}; expected one of {', '.join(PROVIDER_KINDS)}")
        if self.kind == "openai_compatible" and not self.base_url:
            raise ValueError("an openai_compatible provider needs a base_url")
        if not self.name:
            object.__setattr__(self, "name", self.kind)


class Provider(Protocol):
    """What every adapter offers; SDK retries are off, so one call is one HTTP request."""

    def complete(self, request: LLMRequest) -> LLMResponse:
        """Return the whole completion, or raise `ProviderError`."""
        ...

    def stream(self, request: LLMRequest) -> Iterator[StreamDelta | LLMResponse]:
        """Yield `StreamDelta`s, then one final `LLMResponse` with usage; raise `ProviderError` on failure."""
        ...


def build_provider(config: ProviderConfig) -> Provider:
    """Return the adapter for `config.kind`."""
    # Imported here so that loading one adapter does not import every vendor's SDK.
    if config.kind in ("openai", "openai_compatible"):
        from llm.providers.openai_provider import OpenAIProvider

        return OpenAIProvider(config)
    if config.kind == "anthropic":
        from llm.providers.anthropic_provider import AnthropicProvider

        return AnthropicProvider(config)
    from llm.providers.mistral_provider import MistralProvider

    return MistralProvider(config)


# Helpers shared by the adapters.

_CONTENT_POLICY_MARKERS = ("content_policy", "content_filter", "moderation")


def is_content_policy(*codes: str | None) -> bool:
    """True when any error code or type names a content-policy refusal."""
    return any(marker in code.lower() for code in codes if code for marker in _CONTENT_POLICY_MARKERS)


def kind_for_status(status_code: int, *codes: str | None) -> ErrorKind:
    """Classify an HTTP error status, refined by the provider's error code/type strings."""
    lowered = [code.lower() for code in codes if code]
    if status_code == 529 or any("overloaded" in code for code in lowered):
        return ErrorKind.OVERLOADED
    if status_code == 429 or any("rate_limit" in code for code in lowered):
        return ErrorKind.RATE_LIMIT
    if status_code >= 500:
        return ErrorKind.SERVER
    if status_code == 408:
        return ErrorKind.TIMEOUT
    if status_code in (401, 402, 403):
        return ErrorKind.AUTH
    if status_code == 404:
        return ErrorKind.NOT_FOUND
    if is_content_policy(*codes):
        return ErrorKind.CONTENT_POLICY
    return ErrorKind.INVALID_REQUEST


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Read `retry-after-ms` or `Retry-After` (seconds or an HTTP date); None when absent or unreadable."""
    if not headers:
        return None
    if milliseconds := headers.get("retry-after-ms"):
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_length": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}


def normalize_finish_reason(reason: str | None) -> str:
    """Map a provider's stop reason onto OpenAI's words; unknown reasons pass through unchanged."""
    if not reason:
        # A stream cut short never states a reason; saying "stop" would hide the truncation.
        return "unknown"
    return _FINISH_REASONS.get(reason, reason)


def transport_error(exc: httpx2.TransportError, provider: str) -> ProviderError:
    """Classify a network failure that an SDK let through unwrapped (they do so while a stream is read)."""
    kind = ErrorKind.TIMEOUT if isinstance(exc, httpx2.TimeoutException) else ErrorKind.CONNECTION
    return ProviderError(kind, str(exc) or type(exc).__name__, provider=provider)


def count_or_zero(value: int | None) -> int:
    """Token counts are optional in several SDK models; treat a missing count as zero."""
    return value or 0


def function_tool(tool: ToolSpec) -> dict[str, Any]:
    """A tool in the `{"type": "function", ...}` shape that OpenAI and Mistral share."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def function_message(message: ChatMessage) -> dict[str, Any]:
    """A message in the chat-completions shape that OpenAI and Mistral share, tool turns included."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "name": message.name, "content": message.content}
    if message.tool_calls:
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
        return {"role": "assistant", "content": message.content or None, "tool_calls": calls}
    return {"role": message.role, "content": message.content}


@dataclass(frozen=True)
class ImageRequest:
    """Generate `n` images of `size` (and `quality`, when the model takes one) from `prompt`."""

    model: str
    prompt: str
    size: str
    quality: str = ""
    n: int = 1
    timeout_seconds: float = 120.0


@dataclass(frozen=True)
class ImageResponse:
    images: tuple[bytes, ...]
    revised_prompt: str
    provider_request_id: str
    model: str


@dataclass(frozen=True)
class TranscriptionRequest:
    """Transcribe `audio` (the file's bytes, of `content_type`); `language` is an ISO-639-1 hint."""

    model: str
    audio: bytes = field(repr=False)
    filename: str
    content_type: str
    language: str = ""
    timeout_seconds: float = 120.0


@dataclass(frozen=True)
class TranscriptionResponse:
    text: str
    language: str
    duration: float  # seconds of audio
    provider_request_id: str
    model: str
