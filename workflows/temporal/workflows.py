"""The interpreter: one deterministic workflow that runs any compiled plan.

Graph semantics: a node runs once every incoming edge is resolved and at least one was taken;
edges leaving a branch not taken are marked skipped, and a node whose incoming edges are all
skipped is skipped in turn (dead-path elimination), so joins after decisions never hang. Nodes
that become ready together run in parallel. Control nodes (start, decision, wait, end) are
evaluated here; work nodes (e-mail, record update, webhook) and approvals are activities.

Bookkeeping stays off the critical path (patch `FOLDED_BOOKKEEPING`; runs started before it replay
the old path, one activity per record). Every node still gets its durable `StepExecution` row and
live events, and the run its status, but no record costs a round trip of its own:
- control-node records (start, decision, wait, end) are buffered with their workflow time and
  written by the next work step's activity before it acts (`StepInput.records`), or by
  `execution_finish`; the run's move to `running` rides along the first of them (`run_id`);
- what users watch while the run waits (a wait's `waiting`, an approval opening, a vote) and the
  finish are local activities: a database write inside the workflow task, no server round trip.
A node type run as a child workflow (an agent) calls `_take_bookkeeping()` first, flushes it with
`_flush()`, then `workflow.execute_child_workflow`, like approvals do.

Step outputs above the payload limit arrive as references (`refs`); each work step is sent the
outputs its data mentions, the others as references its activity reads back, so no payload grows
with the run (see `_activity_variables`).

No Django, no I/O: only temporalio, the standard library and the pure graph/expression/template
modules, passed through the sandbox.
"""

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from mono.kernel import expressions, templating
    from workflows.graph import durations
    from workflows.graph.compiler import Plan, PlanNode
    from workflows.graph.quorum import quorum_outcome
    from workflows.temporal import refs
    from workflows.temporal.types import (
        AgentInput,
        AgentResult,
        ApprovalClose,
        ApprovalOpen,
        ApprovalOpened,
        ApprovalState,
        ApprovalVote,
        ApprovalVoteRecord,
        ExecutionFinish,
        ExecutionStarted,
        InterpreterInput,
        InterpreterResult,
        StepInput,
        StepOutput,
        StepRecord,
        StepRecords,
    )

FOLDED_BOOKKEEPING = "folded-bookkeeping"

BOOKKEEPING = {"start_to_close_timeout": timedelta(seconds=15), "retry_policy": RetryPolicy(maximum_attempts=10)}
# E-mail and webhooks talk to the outside world: back off between attempts. Records are local.
WORK_STEP_OPTIONS = {
    "EmailNode": {
        "start_to_close_timeout": timedelta(seconds=60),
        "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2, maximum_attempts=5),
    },
    "WebhookNode": {
        "start_to_close_timeout": timedelta(seconds=60),
        # A first retry soon: most are a killed worker's step, which the receiver drops by webhook-id.
        "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2, maximum_attempts=5),
    },
    # The gateway fails over between providers itself; retrying here covers "all were down".
    "LLMNode": {
        "start_to_close_timeout": timedelta(minutes=5),
        "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2, maximum_attempts=4),
    },
    "ImageNode": {
        "start_to_close_timeout": timedelta(minutes=5),
        "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2, maximum_attempts=4),
    },
    "TranscribeNode": {
        "start_to_close_timeout": timedelta(minutes=5),
        "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2, maximum_attempts=4),
    },
    "UpdateRecordNode": {
        "start_to_close_timeout": timedelta(seconds=15),
        "retry_policy": RetryPolicy(maximum_attempts=3),
    },
    # Waits for the document to be processed by asking again: 2 s, then up to every 30 s, for
    # about 40 minutes (beyond MEDIA_MAX_PROCESS_SECONDS' default) before the step fails.
    "ExtractNode": {
        "start_to_close_timeout": timedelta(seconds=30),
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=2),
            backoff_coefficient=1.5,
            maximum_interval=timedelta(seconds=30),
            maximum_attempts=90,
        ),
    },
}
# A step's own limit (InterpreterInput.step_limits, from settings) plus this margin bounds one
# attempt; heartbeats every second let a killed worker's attempt be retried after a few seconds.
STEP_TIMEOUT_MARGIN_SECONDS = 15.0
STEP_HEARTBEAT_TIMEOUT = timedelta(seconds=3)
# Outputs sent inline to one work step, at most (the rest go as references): far below 2 MB.
INLINE_VARIABLES_BYTES = 512 * 1024
STATUS_SEVERITY = ["completed", "rejected", "cancelled", "failed"]


class StepFailed(Exception):
    def __init__(self, node: PlanNode, reason: str):
        super().__init__(f"step {node.id} ({node.type}) failed: {reason}")


@dataclass
class _Approval:
    approval_id: int
    node_id: str
    quorum: str
    eligible: set[str]
    votes: dict[str, str] = field(default_factory=dict)
    outcome: str | None = None


@dataclass(frozen=True)
class _Outcome:
    handle: str | None = None
    end_status: str | None = None  # set when the node finishes the run's path (End, unrouted rejection)
    output: Any = None


@workflow.defn(name="Interpreter")
class InterpreterWorkflow:
    def __init__(self) -> None:
        self._approvals: dict[str, _Approval] = {}
        self._tenant_id = 0
        self._plan: Plan | None = None
        self._steps: dict[str, Any] = {}
        self._folded = False

    @workflow.run
    async def run(self, data: InterpreterInput) -> InterpreterResult:
        self._tenant_id = data.tenant_id
        self._execution_id = data.execution_id
        self._plan = Plan.from_dict(data.plan)
        self._steps: dict[str, Any] = {}
        self._input = data.input
        self._step_limits = dict(data.step_limits)
        self._pending: list[StepRecord] = []  # control-node records not yet written
        self._stored: set[str] = set()  # nodes whose output is (or is written before) a row's output
        self._announced = False  # the run's move to running is written, or rides along a pending write
        self._folded = workflow.patched(FOLDED_BOOKKEEPING)
        if not self._folded:
            await workflow.execute_activity(
                "execution_started",
                ExecutionStarted(data.tenant_id, data.execution_id, workflow.info().run_id),
                **BOOKKEEPING,
            )
        skipped: set[str] = set()
        try:
            status, output = await self._walk(skipped)
            error = "" if status != "rejected" else "rejected by an approval"
        except asyncio.CancelledError:
            status, output, error = "cancelled", None, "cancelled on request"
        except StepFailed as exc:
            status, output, error = "failed", None, str(exc)
        for approval in self._approvals.values():
            if approval.outcome is None:  # cancelled while waiting for decisions
                await self._close_approval(approval, "cancelled")
        if not self._folded:
            await workflow.execute_activity(
                "execution_finish",
                ExecutionFinish(data.tenant_id, data.execution_id, status, output, error, sorted(skipped)),
                **BOOKKEEPING,
            )
            return InterpreterResult(status, output, error)
        # The run id always rides along: marking running is idempotent, and the step that carried
        # it may never have run (cancelled before it started).
        finish = ExecutionFinish(
            data.tenant_id,
            data.execution_id,
            status,
            output,
            error,
            sorted(skipped),
            records=self._pending,
            run_id=workflow.info().run_id,
        )
        self._pending = []
        await workflow.execute_local_activity("execution_finish", finish, **BOOKKEEPING)
        return InterpreterResult(status, output, error)

    # Graph walking ---------------------------------------------------------------------------

    async def _walk(self, skipped: set[str]) -> tuple[str, Any]:
        plan = self._plan
        resolved: dict[str, bool] = {}  # edge id -> taken
        running: dict[asyncio.Task, str] = {}
        ends: list[_Outcome] = []

        def settle(node_id: str) -> None:
            """Start or skip `node_id` once all its incoming edges are resolved."""
            node = plan.nodes[node_id]
            if not all(edge_id in resolved for edge_id in node.incoming):
                return
            if any(resolved[edge_id] for edge_id in node.incoming):
                running[asyncio.ensure_future(self._run_node(node))] = node_id
                return
            skipped.add(node_id)
            for edge in node.outgoing:
                resolved[edge.id] = False
                settle(edge.target)

        running[asyncio.ensure_future(self._run_node(plan.nodes[plan.start]))] = plan.start
        try:
            while running:
                done, _ = await workflow.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    node_id = running.pop(task)
                    outcome: _Outcome = task.result()
                    if outcome.end_status:
                        ends.append(outcome)
                    taken = {edge.id for edge in plan.edges_from(node_id, outcome.handle)}
                    for edge in plan.nodes[node_id].outgoing:
                        resolved[edge.id] = edge.id in taken
                    for edge in plan.nodes[node_id].outgoing:
                        settle(edge.target)
        finally:
            for task in running:
                task.cancel()
        final = max(
            ends, key=lambda end: STATUS_SEVERITY.index(end.end_status), default=_Outcome(end_status="completed")
        )
        return final.end_status, final.output

    async def _run_node(self, node: PlanNode) -> _Outcome:
        handler = {
            "StartNode": self._start,
            "DecisionNode": self._decision,
            "WaitNode": self._wait,
            "ApprovalNode": self._approval,
            "EndNode": self._end,
            "AgentNode": self._agent,
        }.get(node.type, self._work)
        try:
            return await handler(node)
        except ActivityError as exc:
            raise StepFailed(node, str(exc.cause or exc)) from exc
        except (expressions.ExpressionError, templating.TemplateError) as exc:
            await self._record(node, "failed", error=str(exc))
            raise StepFailed(node, str(exc)) from exc

    def _variables(self) -> dict[str, Any]:
        merged: dict[str, Any] = dict(self._input)
        for output in self._steps.values():
            if isinstance(output, dict):
                merged.update(output)
        return {"input": self._input, "steps": dict(self._steps), "variables": merged}

    async def _record(self, node: PlanNode, status: str, output: Any = None, error: str = "") -> None:
        if self._folded:  # written by the next work step, local activity or the finish
            at = workflow.now().isoformat()
            self._pending.append(
                StepRecord(self._tenant_id, self._execution_id, node.id, node.type, status, output, error, at)
            )
            return
        record = StepRecord(self._tenant_id, self._execution_id, node.id, node.type, status, output, error)
        await workflow.execute_activity("record_step", record, **BOOKKEEPING)

    def _take_bookkeeping(self) -> tuple[list[StepRecord], str]:
        """The pending records and, the first time, the run id to mark running: for the next write."""
        records, self._pending = self._pending, []
        run_id = "" if self._announced else workflow.info().run_id
        self._announced = True
        return records, run_id

    def _written(self, records: list[StepRecord]) -> None:
        """Records now committed: their nodes' outputs can travel by reference from here on."""
        for record in records:
            if record.output is not None and record.output is self._steps.get(record.node_id):
                self._stored.add(record.node_id)

    def _give_back(self, records: list[StepRecord]) -> None:
        """Records a failed or cancelled carrier may not have written: the finish writes them."""
        self._pending[:0] = records

    async def _flush(self) -> None:
        """Write pending bookkeeping now (local activity), before a wait users watch."""
        records, run_id = self._take_bookkeeping()
        if records or run_id:
            batch = StepRecords(self._tenant_id, self._execution_id, records, run_id)
            await workflow.execute_local_activity("record_steps", batch, **BOOKKEEPING)
            self._written(records)

    async def _bookkeeping_activity(self, name: str, arg: Any, **options: Any) -> Any:
        """A bookkeeping call: a local activity once folded, a full activity for older runs."""
        if self._folded:
            return await workflow.execute_local_activity(name, arg, **options, **BOOKKEEPING)
        return await workflow.execute_activity(name, arg, **options, **BOOKKEEPING)

    def _activity_variables(self, node: PlanNode) -> dict[str, Any]:
        """What a work step is sent: the input, and each step's output inline where the node's data
        mentions that step (or everything, for `variables` or a stored template) up to a budget,
        otherwise a reference its activity reads back. The activity merges `variables` itself."""
        text = json.dumps(node.data, sort_keys=True)
        everything = bool(node.data.get("template")) or re.search(r"\bvariables\b", text) is not None
        inline: dict[str, Any] = {}
        budget = INLINE_VARIABLES_BYTES
        for node_id, output in self._steps.items():
            mentioned = everything or re.search(r"\b" + re.escape(node_id) + r"\b", text) is not None
            size = refs.size_of(output)
            if node_id not in self._stored or (mentioned and size <= budget):
                inline[node_id] = output
                budget -= size
            else:
                inline[node_id] = refs.ref(node_id, [], size)
        return {"input": self._input, "steps": inline}

    # Node kinds --------------------------------------------------------------------------------

    async def _start(self, node: PlanNode) -> _Outcome:
        self._steps[node.id] = {"input": self._input}
        await self._record(node, "completed", self._steps[node.id])
        return _Outcome()

    async def _decision(self, node: PlanNode) -> _Outcome:
        result = expressions.compile_condition(node.data["condition"]).evaluate(self._variables(), field="condition")
        self._steps[node.id] = {"result": result}
        await self._record(node, "completed", self._steps[node.id])
        return _Outcome(handle="true" if result else "false")

    async def _wait(self, node: PlanNode) -> _Outcome:
        if node.data.get("duration_seconds") is not None:
            seconds = float(node.data["duration_seconds"])
        else:
            until = durations.parse_datetime(templating.render(node.data["until"], self._variables(), field="until"))
            seconds = max(0.0, (until - workflow.now()).total_seconds())
        await self._record(node, "waiting", {"seconds": seconds})
        if self._folded:
            await self._flush()  # the monitor shows the wait while it lasts
        await workflow.sleep(seconds)
        self._steps[node.id] = {"waited_seconds": seconds}
        await self._record(node, "completed", self._steps[node.id])
        return _Outcome()

    async def _end(self, node: PlanNode) -> _Outcome:
        template = node.data.get("output")
        output = templating.render_value(template, self._variables(), field="output") if template else None
        status = node.data.get("status", "completed")
        self._steps[node.id] = {"status": status, "output": output}
        await self._record(node, "completed", self._steps[node.id])
        return _Outcome(end_status=status, output=output)

    async def _work(self, node: PlanNode) -> _Outcome:
        if not self._folded:
            step = StepInput(self._tenant_id, self._execution_id, node.id, node.type, node.data, self._variables())
            result = await workflow.execute_activity(
                "run_step", step, result_type=StepOutput, **self._step_options(node)
            )
            self._steps[node.id] = result.output
            return _Outcome()
        records, run_id = self._take_bookkeeping()
        variables = self._activity_variables(node)
        step = StepInput(self._tenant_id, self._execution_id, node.id, node.type, node.data, variables, records, run_id)
        try:
            result = await workflow.execute_activity(
                "run_step", step, result_type=StepOutput, **self._step_options(node)
            )
        except BaseException:
            self._give_back(records)
            raise
        self._steps[node.id] = result.output
        self._stored.add(node.id)
        self._written(records)
        return _Outcome()

    def _step_options(self, node: PlanNode) -> dict[str, Any]:
        """Timeouts sized to the step's own limit, and a short heartbeat timeout."""
        options = dict(WORK_STEP_OPTIONS[node.type])
        limit = self._step_limits.get(node.type)
        if limit is not None:
            options["start_to_close_timeout"] = timedelta(seconds=float(limit) + STEP_TIMEOUT_MARGIN_SECONDS)
        options["heartbeat_timeout"] = STEP_HEARTBEAT_TIMEOUT
        return options

    async def _agent(self, node: PlanNode) -> _Outcome:
        # The agent's loop is one durable child workflow (workflows.temporal.agent); its result is
        # recorded here like any step's.
        if self._folded:  # the rows before the agent's own steps (its tool calls) are written first
            await self._flush()
        agent = AgentInput(self._tenant_id, self._execution_id, node.id, node.data, self._variables())
        try:
            result = await workflow.execute_child_workflow(
                "Agent", agent, id=f"{self._execution_id}-agent-{node.id}", result_type=AgentResult
            )
        except ChildWorkflowError as exc:
            reason = _root_cause(exc)
            await self._record(node, "failed", error=reason)
            raise StepFailed(node, reason) from exc
        self._steps[node.id] = result.output
        await self._record(node, "completed", result.output)
        return _Outcome()

    async def _approval(self, node: PlanNode) -> _Outcome:
        data = node.data
        message = templating.render(data["message"], self._variables(), field="message") if data.get("message") else ""
        if self._folded:
            await self._flush()
        opened = await self._bookkeeping_activity(
            "approval_open",
            ApprovalOpen(
                self._tenant_id,
                self._execution_id,
                node.id,
                list(data["approvers"]),
                str(data.get("quorum", "any")),
                data.get("onTimeout", "reject"),
                data.get("timeout_seconds"),
                message,
                data.get("allowStarter") is True,
            ),
            result_type=ApprovalOpened,
        )
        approval = _Approval(
            opened.approval_id, node.id, str(data.get("quorum", "any")), set(opened.eligible_usernames)
        )
        self._approvals[node.id] = approval
        timed_out = False
        try:
            await workflow.wait_condition(lambda: approval.outcome is not None, timeout=data.get("timeout_seconds"))
        except TimeoutError:
            timed_out = True
            approval.outcome = "approved" if data.get("onTimeout") == "approve" else "rejected"
        await self._close_approval(approval, approval.outcome, timed_out=timed_out)
        self._steps[node.id] = {"decision": approval.outcome, "timed_out": timed_out, "votes": dict(approval.votes)}
        has_branch = bool(self._plan.edges_from(node.id, approval.outcome))
        if approval.outcome == "rejected" and not has_branch:
            return _Outcome(handle="rejected", end_status="rejected")
        return _Outcome(handle=approval.outcome)

    async def _close_approval(self, approval: _Approval, status: str, *, timed_out: bool = False) -> None:
        close = ApprovalClose(self._tenant_id, approval.approval_id, status, timed_out)
        await self._bookkeeping_activity("approval_close", close)

    # Approval decisions (Temporal Update) ------------------------------------------------------

    @workflow.update(name="decide")
    async def decide(self, vote: ApprovalVote) -> ApprovalState:
        # The approval's row commits in `approval_open` a moment before this workflow learns the
        # approval is open; a vote sent in that gap waits here for it rather than being refused.
        await workflow.wait_condition(lambda: vote.node_id in self._approvals)
        approval = self._approvals[vote.node_id]
        _check_vote(approval, vote)
        approval.votes[vote.username] = vote.decision  # before the await: a second vote is refused
        record = ApprovalVoteRecord(self._tenant_id, approval.approval_id, vote.username, vote.decision, vote.comment)
        await self._bookkeeping_activity("approval_record_vote", record)
        approvals = sum(1 for d in approval.votes.values() if d == "approve")
        rejections = len(approval.votes) - approvals
        if approval.outcome is None:
            approval.outcome = quorum_outcome(
                approval.quorum, eligible=len(approval.eligible), approvals=approvals, rejections=rejections
            )
        return ApprovalState(vote.node_id, approval.outcome or "pending", approvals, rejections)

    @decide.validator
    def validate_decide(self, vote: ApprovalVote) -> None:
        if vote.decision not in ("approve", "reject"):
            raise ApplicationError(f"decision must be approve or reject, not {vote.decision!r}", type="BadDecision")
        approval = self._approvals.get(vote.node_id)
        if approval is not None:
            _check_vote(approval, vote)
            return
        node = self._plan.nodes.get(vote.node_id) if self._plan else None
        if node is None or node.type != "ApprovalNode" or vote.node_id in self._steps:
            raise ApplicationError(f"approval {vote.node_id} is not open", type="ApprovalClosed")


def _root_cause(error: BaseException) -> str:
    """The innermost failure's message (a child's activity error wraps the business reason)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error)


def _check_vote(approval: _Approval, vote: ApprovalVote) -> None:
    """Refuse a vote on a closed approval, from a non-approver, or a second one from the same person."""
    if approval.outcome is not None:
        raise ApplicationError(f"approval {vote.node_id} is not open", type="ApprovalClosed")
    if vote.username not in approval.eligible:
        raise ApplicationError(f"{vote.username} is not an approver of {vote.node_id}", type="NotApprover")
    if vote.username in approval.votes:
        raise ApplicationError(f"{vote.username} already decided {vote.node_id}", type="AlreadyVoted")
