"""Dataclasses exchanged by the interpreter workflow, its activities and its update handler.

Only ids, small dicts and strings cross the boundary (Temporal payloads are capped at 2 MB).
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InterpreterInput:
    tenant_id: int
    execution_id: str
    plan: dict[str, Any]
    input: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InterpreterResult:
    status: str
    output: Any = None
    error: str = ""


@dataclass(frozen=True)
class ExecutionStarted:
    tenant_id: int
    execution_id: str
    run_id: str


@dataclass(frozen=True)
class ExecutionFinish:
    tenant_id: int
    execution_id: str
    status: str
    output: Any = None
    error: str = ""
    skipped_nodes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StepRecord:
    """A control step (start, decision, wait, end) whose result the workflow computed itself."""

    tenant_id: int
    execution_id: str
    node_id: str
    node_type: str
    status: str
    output: Any = None
    error: str = ""


@dataclass(frozen=True)
class StepInput:
    """A work step (e-mail, record update, webhook) for its activity to perform."""

    tenant_id: int
    execution_id: str
    node_id: str
    node_type: str
    data: dict[str, Any]
    variables: dict[str, Any]


@dataclass(frozen=True)
class StepOutput:
    output: dict[str, Any]


@dataclass(frozen=True)
class ApprovalOpen:
    tenant_id: int
    execution_id: str
    node_id: str
    approvers: list[str]
    quorum: str
    on_timeout: str
    timeout_seconds: int | None
    message: str = ""
    # Added later with a default: inputs recorded before it still decode (the starter excluded).
    allow_starter: bool = False


@dataclass(frozen=True)
class ApprovalOpened:
    approval_id: int
    eligible_usernames: list[str]


@dataclass(frozen=True)
class ApprovalVote:
    """The argument of the workflow's `decide` update."""

    node_id: str
    username: str
    decision: str  # "approve" | "reject"
    comment: str = ""


@dataclass(frozen=True)
class ApprovalVoteRecord:
    tenant_id: int
    approval_id: int
    username: str
    decision: str
    comment: str = ""


@dataclass(frozen=True)
class ApprovalClose:
    tenant_id: int
    approval_id: int
    status: str  # "approved" | "rejected" | "cancelled"
    timed_out: bool = False


@dataclass(frozen=True)
class ApprovalState:
    """What the `decide` update answers: the approval after the vote."""

    node_id: str
    status: str  # "pending" | "approved" | "rejected"
    approvals: int
    rejections: int


@dataclass(frozen=True)
class ScheduledRunInput:
    """What a workflow's Temporal Schedule passes to each `ScheduledWorkflowRun`."""

    tenant_id: int
    definition_id: int
    schedule_id: str


@dataclass(frozen=True)
class ScheduledRunStart:
    tenant_id: int
    definition_id: int
    schedule_id: str
    scheduled_at: str


@dataclass(frozen=True)
class ScheduledRunResult:
    execution_id: str
    created: bool
