"""The gateway's request and answer shapes: plain dataclasses, safe to pass through Temporal."""

from dataclasses import asdict, dataclass, field

from llm.providers.base import ChatMessage, ToolCall, ToolSpec
from llm.route_parsing import Candidate


@dataclass(frozen=True)
class Call:
    """What to ask, and where it is accounted."""

    tenant_id: int
    candidates: tuple[Candidate, ...]
    messages: tuple[ChatMessage, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    json_output: bool = False
    cache_ttl_seconds: int = 0
    scope: str = "api"
    user_id: int | None = None
    execution_id: str = ""
    node_id: str = ""
    tools: tuple[ToolSpec, ...] = ()
    operation = "chat"  # what its usage rows record (media calls say image or transcription)

    @classmethod
    def from_dict(cls, data: dict) -> "Call":
        """The call that `dataclasses.asdict` turned into plain data (as it crosses Temporal)."""
        return cls(
            **{
                **data,
                "candidates": tuple(Candidate(**c) for c in data["candidates"]),
                "messages": tuple(_message(m) for m in data["messages"]),
                "tools": tuple(ToolSpec(**t) for t in data.get("tools") or ()),
            }
        )


def _message(data: dict) -> ChatMessage:
    calls = tuple(ToolCall(**c) for c in data.get("tool_calls") or ())
    return ChatMessage(**{**data, "tool_calls": calls})


@dataclass(frozen=True)
class Attempt:
    """One candidate tried (or skipped) while answering a call."""

    provider: str
    model: str
    status: str
    error: str = ""


@dataclass(frozen=True)
class Result:
    """The answer to a call, with its usage, cost and the attempts that led to it."""

    content: str
    finish_reason: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost: str  # decimal as text: JSON- and Temporal-safe
    cached: bool
    request_id: str
    attempts: list[Attempt] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)
