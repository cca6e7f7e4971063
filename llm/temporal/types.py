"""Dataclasses of the LLM workflows and activities."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PromptInput:
    """One prompt: a `PromptSpec` as a dict, and where its usage is accounted."""

    tenant_id: int
    spec: dict[str, Any]
    scope: str = "workflow"
    user_id: int | None = None
    execution_id: str = ""
    node_id: str = ""


@dataclass(frozen=True)
class RenderedPrompt:
    tenant_id: int
    call: dict[str, Any]  # `llm.gateway.calls.Call` as plain data


@dataclass(frozen=True)
class PromptResult:
    result: dict[str, Any]


@dataclass(frozen=True)
class BatchInput:
    tenant_id: int
    batch_id: str
    items: list[dict[str, Any]]
    concurrency: int = 4
    user_id: int | None = None


@dataclass(frozen=True)
class BatchFinish:
    tenant_id: int
    batch_id: str
    results: list[dict[str, Any]] = field(default_factory=list)
