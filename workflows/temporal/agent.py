"""The agent node's loop, as one child workflow of the interpreter (`Agent`).

Each model turn is one activity (the gateway, native tool calling); each tool call is its own
activity (webhook) or child workflow (workflow tool, an `Interpreter` run). The transcript stays in
PostgreSQL; only its id, the turn number and the call index cross this workflow. The loop stops at a
final answer, at `max_steps` model turns or when the model cost reaches `budget_usd`.

Deterministic and Django-free: only temporalio, the standard library and this app's types.
"""

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from workflows.temporal.types import (
        AgentBegun,
        AgentChildDone,
        AgentChildPrepared,
        AgentInput,
        AgentResult,
        AgentToolRef,
        AgentTurn,
        AgentTurnResult,
        InterpreterInput,
        InterpreterResult,
    )

DEFAULT_MAX_STEPS = 8
QUICK = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": RetryPolicy(maximum_attempts=10)}
# The gateway fails over between providers itself; retrying here covers "all were down". The
# heartbeat timeout notices a killed worker long before the start-to-close timeout would.
MODEL_TURN = {
    "start_to_close_timeout": timedelta(minutes=5),
    "heartbeat_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2, maximum_attempts=5),
}
TOOL_CALL = {
    "start_to_close_timeout": timedelta(minutes=2),
    "heartbeat_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2, maximum_attempts=5),
}


@workflow.defn(name="Agent")
class AgentWorkflow:
    @workflow.run
    async def run(self, data: AgentInput) -> AgentResult:
        begun = await workflow.execute_activity("agent_begin", data, result_type=AgentBegun, **QUICK)
        max_steps = int(data.data.get("max_steps") or DEFAULT_MAX_STEPS)
        budget = data.data.get("budget_usd")
        for turn in range(1, max_steps + 1):
            ref = AgentTurn(data.tenant_id, begun.transcript_id, turn)
            answer = await workflow.execute_activity("agent_turn", ref, result_type=AgentTurnResult, **MODEL_TURN)
            if answer.final:
                return await workflow.execute_activity("agent_conclude", ref, result_type=AgentResult, **QUICK)
            if budget is not None and Decimal(answer.cost) >= Decimal(str(budget)):
                raise ApplicationError(
                    f"the agent reached its budget_usd ({budget}) after {turn} turns", type="AgentBudget"
                )
            for call in answer.calls:
                tool = AgentToolRef(data.tenant_id, begun.transcript_id, turn, call["index"])
                if call["kind"] == "workflow":
                    await self._workflow_tool(tool)
                else:
                    await workflow.execute_activity("agent_tool_call", tool, **TOOL_CALL)
        raise ApplicationError(
            f"the agent reached max_steps ({max_steps}) without a final answer", type="AgentMaxSteps"
        )

    async def _workflow_tool(self, tool: AgentToolRef) -> None:
        prepared = await workflow.execute_activity("agent_child_prepare", tool, result_type=AgentChildPrepared, **QUICK)
        if prepared.done:
            return
        try:
            result = await workflow.execute_child_workflow(
                "Interpreter",
                InterpreterInput(tool.tenant_id, prepared.execution_id, prepared.plan, prepared.input),
                id=prepared.execution_id,
                result_type=InterpreterResult,
            )
            status, output, error = result.status, result.output, result.error
        except ChildWorkflowError as exc:
            status, output, error = "failed", None, str(exc.cause or exc)
        done = AgentChildDone(tool.tenant_id, tool.transcript_id, tool.turn, tool.index, status, output, error)
        await workflow.execute_activity("agent_child_finish", done, **QUICK)
