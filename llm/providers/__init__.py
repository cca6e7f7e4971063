"""LLM provider adapters behind one request/response shape; see `base` for the contract."""

from llm.providers.base import (
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

__all__ = [
    "ChatMessage",
    "ErrorKind",
    "LLMRequest",
    "LLMResponse",
    "Provider",
    "ProviderConfig",
    "ProviderError",
    "StreamDelta",
    "build_provider",
]
