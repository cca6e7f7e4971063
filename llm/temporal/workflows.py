"""LLM workflows: one prompt (`llmExecutionWorkflow`) and a bounded-concurrency batch."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from llm.temporal.types import BatchFinish, BatchInput, PromptInput, PromptResult, RenderedPrompt

QUICK = {"start_to_close_timeout": timedelta(seconds=15), "retry_policy": RetryPolicy(maximum_attempts=5)}
# The gateway already fails over between providers; Temporal retries the whole route a few
# times with backoff when every candidate was down.
PROMPT = {
    "start_to_close_timeout": timedelta(minutes=5),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2, maximum_attempts=4),
}


@workflow.defn(name="llmExecutionWorkflow")
class LLMExecutionWorkflow:
    @workflow.run
    async def run(self, data: PromptInput) -> PromptResult:
        await workflow.execute_activity("validate_config", data, **QUICK)
        rendered = await workflow.execute_activity("process_template", data, result_type=RenderedPrompt, **QUICK)
        return await workflow.execute_activity("execute_prompt", rendered, result_type=PromptResult, **PROMPT)


@workflow.defn(name="llmBatchWorkflow")
class LLMBatchWorkflow:
    """Runs each item as a child `llmExecutionWorkflow`, at most `concurrency` at a time, and
    records a result or an error per item, in input order."""

    @workflow.run
    async def run(self, data: BatchInput) -> list[dict]:
        gate = asyncio.Semaphore(max(1, data.concurrency))

        async def one(index: int, spec: dict) -> dict:
            async with gate:
                try:
                    result = await workflow.execute_child_workflow(
                        LLMExecutionWorkflow.run,
                        PromptInput(data.tenant_id, spec, scope="batch", user_id=data.user_id),
                        id=f"{data.batch_id}-item-{index}",
                        result_type=PromptResult,
                    )
                except (ChildWorkflowError, ActivityError) as exc:
                    cause = exc.cause.cause if getattr(exc.cause, "cause", None) else exc.cause
                    return {"index": index, "error": str(cause or exc)}
                return {"index": index, "result": result.result}

        results = list(await asyncio.gather(*(one(i, spec) for i, spec in enumerate(data.items))))
        await workflow.execute_activity("batch_finish", BatchFinish(data.tenant_id, data.batch_id, results), **QUICK)
        return results
