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
    # Per node type, the limit its own work observes (webhook/LLM timeout, seconds): the
    # workflow sizes each step's start_to_close_timeout from it, without reading settings.
    step_limits: dict[str, float] = field(default_factory=dict)


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
    # Folded bookkeeping (see StepRecord): control-node records not yet written, and whether the
    # run has yet to be marked running (a run with no work step).
    records: list["StepRecord"] = field(default_factory=list)
    run_id: str = ""


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
    at: str = ""  # workflow time of the change (ISO 8601), so a deferred write keeps true timings


@dataclass(frozen=True)
class StepRecords:
    """Control-node records written together, by a local activity, when none can ride along a
    work step (before an approval or a wait, which users watch)."""

    tenant_id: int
    execution_id: str
    records: list[StepRecord] = field(default_factory=list)
    run_id: str = ""  # set: mark the run running first


@dataclass(frozen=True)
class StepInput:
    """A work step (e-mail, record update, webhook) for its activity to perform."""

    tenant_id: int
    execution_id: str
    node_id: str
    node_type: str
    data: dict[str, Any]
    variables: dict[str, Any]
    # Bookkeeping folded into the step (no round trip of its own): control-node records to write
    # first, and, on the run's first step, its run id to mark the run running.
    records: list[StepRecord] = field(default_factory=list)
    run_id: str = ""


@dataclass(frozen=True)
class StepOutput:
    output: dict[str, Any]  # values above the payload limit replaced by references (services.payloads)


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


# The agent node's child workflow (workflows.temporal.agent). Only ids and small dicts: the
# transcript stays in PostgreSQL (AgentTranscript) and travels by its id.


@dataclass(frozen=True)
class AgentInput:
    tenant_id: int
    execution_id: str
    node_id: str
    data: dict[str, Any]
    variables: dict[str, Any]


@dataclass(frozen=True)
class AgentBegun:
    transcript_id: int


@dataclass(frozen=True)
class AgentTurn:
    tenant_id: int
    transcript_id: int
    turn: int


@dataclass(frozen=True)
class AgentTurnResult:
    """What the model answered: a final text, or tool calls (`index`, `id`, `name`, `kind`) to make."""

    final: bool
    content: str
    calls: list[dict[str, Any]]
    cost: str  # the agent's total model cost so far, decimal as text


@dataclass(frozen=True)
class AgentToolRef:
    tenant_id: int
    transcript_id: int
    turn: int
    index: int


@dataclass(frozen=True)
class AgentChildPrepared:
    """A workflow tool's child run, recorded and ready to start (or `done` when refused or finished)."""

    done: bool
    execution_id: str = ""
    plan: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentChildDone:
    tenant_id: int
    transcript_id: int
    turn: int
    index: int
    status: str
    output: Any = None
    error: str = ""


@dataclass(frozen=True)
class AgentResult:
    output: dict[str, Any]
