"""The hand-written workflows `bench/interpreter.py` measures the interpreter against.

Two per flow, registered on the same worker as the interpreter:
- bare: what a user would write by hand: the same activities the flow's nodes need (`run_step`
  for a record node; `approval_open`, `approval_record_vote` and `approval_close` for an approval)
  with the same data, timeouts and retry policies, and no bookkeeping at all (no start/end records,
  no execution status). The interpreter's targets are set against it.
- native: the node sequence hard-coded, with the bookkeeping the interpreter made before the
  `folded-bookkeeping` patch, one full activity per record: `execution_started`, `record_step`
  (start), the nodes' activities, `record_step` (end), `execution_finish`.

The workflow sandbox re-imports this module: its top level only defines things.
"""

from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import _harness  # noqa: F401  (makes the project importable, as in the script)

    from workflows.temporal.types import (
        ApprovalClose,
        ApprovalOpen,
        ApprovalOpened,
        ApprovalState,
        ApprovalVote,
        ApprovalVoteRecord,
        ExecutionFinish,
        ExecutionStarted,
        InterpreterResult,
        StepInput,
        StepOutput,
        StepRecord,
    )
    from workflows.temporal.workflows import BOOKKEEPING, WORK_STEP_OPTIONS

APPROVAL_NODE = "approve"
APPROVER = "bench-editor"


@dataclass(frozen=True)
class HandWrittenInput:
    tenant_id: int
    execution_id: str
    steps: int
    input: dict[str, Any] = field(default_factory=dict)


def chain_node_ids(steps: int) -> list[str]:
    return [f"r{number}" for number in range(1, steps + 1)]


def record_node_data(node_id: str) -> dict[str, Any]:
    """The data of the chain's record node `node_id`: the graph is built from it, and the
    hand-written workflows hard-code it (the bench checks it equals the compiled plan's)."""
    return {
        "operation": "upsert",
        "collection": "bench",
        "key": "{{ input.key }}-" + node_id,
        "fields": {"node": node_id, "run": "{{ input.key }}"},
    }


def approval_node_data() -> dict[str, Any]:
    """The approval flow's one approval: the editor alone decides."""
    return {"approvers": [APPROVER], "quorum": "any"}


def chain_variables(run_input: dict[str, Any], steps: dict[str, Any]) -> dict[str, Any]:
    """What the pre-patch interpreter handed a work step: input, every step's output, both merged."""
    merged: dict[str, Any] = dict(run_input)
    for output in steps.values():
        if isinstance(output, dict):
            merged.update(output)
    return {"input": run_input, "steps": dict(steps), "variables": merged}


# Chains ----------------------------------------------------------------------------------------


@workflow.defn(name="BenchNativeChain")
class NativeChainWorkflow:
    """Start -> r1 .. rN (UpdateRecordNode) -> End, written by hand, old bookkeeping included."""

    @workflow.run
    async def run(self, data: HandWrittenInput) -> InterpreterResult:
        tenant_id, execution_id = data.tenant_id, data.execution_id
        started = ExecutionStarted(tenant_id, execution_id, workflow.info().run_id)
        await workflow.execute_activity("execution_started", started, **BOOKKEEPING)
        steps: dict[str, Any] = {"start": {"input": data.input}}
        start = StepRecord(tenant_id, execution_id, "start", "StartNode", "completed", steps["start"])
        await workflow.execute_activity("record_step", start, **BOOKKEEPING)
        for node_id in chain_node_ids(data.steps):
            step = StepInput(
                tenant_id,
                execution_id,
                node_id,
                "UpdateRecordNode",
                record_node_data(node_id),
                chain_variables(data.input, steps),
            )
            result = await workflow.execute_activity(
                "run_step", step, result_type=StepOutput, **WORK_STEP_OPTIONS["UpdateRecordNode"]
            )
            steps[node_id] = result.output
        steps["end"] = {"status": "completed", "output": None}
        end = StepRecord(tenant_id, execution_id, "end", "EndNode", "completed", steps["end"])
        await workflow.execute_activity("record_step", end, **BOOKKEEPING)
        finish = ExecutionFinish(tenant_id, execution_id, "completed", None, "", [])
        await workflow.execute_activity("execution_finish", finish, **BOOKKEEPING)
        return InterpreterResult("completed", None, "")


@workflow.defn(name="BenchBareChain")
class BareChainWorkflow:
    """r1 .. rN (the same `run_step` activities), no bookkeeping: the floor a user would compare to."""

    @workflow.run
    async def run(self, data: HandWrittenInput) -> InterpreterResult:
        steps: dict[str, Any] = {}
        for node_id in chain_node_ids(data.steps):
            variables = {"input": data.input, "steps": dict(steps)}
            step = StepInput(
                data.tenant_id, data.execution_id, node_id, "UpdateRecordNode", record_node_data(node_id), variables
            )
            result = await workflow.execute_activity(
                "run_step", step, result_type=StepOutput, **WORK_STEP_OPTIONS["UpdateRecordNode"]
            )
            steps[node_id] = result.output
        return InterpreterResult("completed", None, "")


# Approval: Start -> Approval -> End ------------------------------------------------------------


class _HandWrittenApproval:
    """One approval opened, decided by the `decide` update (the API sends it, as it does to the
    interpreter: the update's name and types are the same), closed. The API has already checked
    the voter; the bench has one approver, so there is no quorum to count."""

    def __init__(self) -> None:
        self._tenant_id = 0
        self._opened: ApprovalOpened | None = None
        self._outcome: str | None = None

    async def _approve(self, data: HandWrittenInput) -> str:
        self._tenant_id = data.tenant_id
        node = approval_node_data()
        request = ApprovalOpen(
            data.tenant_id, data.execution_id, APPROVAL_NODE, node["approvers"], node["quorum"], "reject", None
        )
        self._opened = await workflow.execute_activity(
            "approval_open", request, result_type=ApprovalOpened, **BOOKKEEPING
        )
        await workflow.wait_condition(lambda: self._outcome is not None)
        close = ApprovalClose(data.tenant_id, self._opened.approval_id, self._outcome)
        await workflow.execute_activity("approval_close", close, **BOOKKEEPING)
        return self._outcome

    async def _vote(self, vote: ApprovalVote) -> ApprovalState:
        await workflow.wait_condition(lambda: self._opened is not None)
        opened = self._opened
        record = ApprovalVoteRecord(self._tenant_id, opened.approval_id, vote.username, vote.decision, vote.comment)
        await workflow.execute_activity("approval_record_vote", record, **BOOKKEEPING)
        self._outcome = "approved" if vote.decision == "approve" else "rejected"
        approved = int(self._outcome == "approved")
        return ApprovalState(vote.node_id, self._outcome, approved, 1 - approved)


@workflow.defn(name="BenchBareApproval")
class BareApprovalWorkflow(_HandWrittenApproval):
    """The approval's own activities (open, record the vote, close), no bookkeeping."""

    @workflow.run
    async def run(self, data: HandWrittenInput) -> InterpreterResult:
        outcome = await self._approve(data)
        return InterpreterResult("completed" if outcome == "approved" else "rejected", None, "")

    @workflow.update(name="decide")
    async def decide(self, vote: ApprovalVote) -> ApprovalState:
        return await self._vote(vote)


@workflow.defn(name="BenchNativeApproval")
class NativeApprovalWorkflow(_HandWrittenApproval):
    """The approval's activities between the old bookkeeping: started, start and end records, finish."""

    @workflow.run
    async def run(self, data: HandWrittenInput) -> InterpreterResult:
        tenant_id, execution_id = data.tenant_id, data.execution_id
        started = ExecutionStarted(tenant_id, execution_id, workflow.info().run_id)
        await workflow.execute_activity("execution_started", started, **BOOKKEEPING)
        start = StepRecord(tenant_id, execution_id, "start", "StartNode", "completed", {"input": data.input})
        await workflow.execute_activity("record_step", start, **BOOKKEEPING)
        outcome = await self._approve(data)
        status = "completed" if outcome == "approved" else "rejected"
        end = StepRecord(tenant_id, execution_id, "end", "EndNode", "completed", {"status": status, "output": None})
        await workflow.execute_activity("record_step", end, **BOOKKEEPING)
        finish = ExecutionFinish(tenant_id, execution_id, status, None, "", [])
        await workflow.execute_activity("execution_finish", finish, **BOOKKEEPING)
        return InterpreterResult(status, None, "")

    @workflow.update(name="decide")
    async def decide(self, vote: ApprovalVote) -> ApprovalState:
        return await self._vote(vote)


HAND_WRITTEN = {
    ("bare", "chain"): BareChainWorkflow,
    ("native", "chain"): NativeChainWorkflow,
    ("bare", "approval"): BareApprovalWorkflow,
    ("native", "approval"): NativeApprovalWorkflow,
}
