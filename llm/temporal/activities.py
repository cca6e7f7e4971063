"""LLM activities (sync, on the worker's thread pool), on the tenant's `llm-processing` queue.

Usage is written by the gateway at every provider attempt (the same code path as the API), so
no attempt is lost between activities; there is therefore no separate usage-logging activity.
"""

import dataclasses

from django.utils import timezone
from temporalio import activity
from temporalio.exceptions import ApplicationError

from llm import router, services
from llm.models import BatchStatus, LLMBatch
from llm.providers.base import ChatMessage
from llm.routes import Candidate
from llm.temporal.types import BatchFinish, PromptInput, PromptResult, RenderedPrompt
from mono.errors import ServiceError


def _business_failure(exc: ServiceError) -> ApplicationError:
    return ApplicationError(str(exc.detail), type=type(exc).__name__, non_retryable=True)


@activity.defn(name="validate_config")
def validate_config(data: PromptInput) -> None:
    """Refuse a malformed spec (bad route, unknown provider) before any provider is called."""
    spec = services.PromptSpec(**data.spec)
    try:
        for candidate in services.candidates_for(spec):
            router.provider_config(candidate.provider, data.tenant_id)
    except ServiceError as exc:
        raise _business_failure(exc) from exc


@activity.defn(name="process_template")
def process_template(data: PromptInput) -> RenderedPrompt:
    try:
        call = services.llm_call(
            tenant_id=data.tenant_id,
            spec=services.PromptSpec(**data.spec),
            scope=data.scope,
            user_id=data.user_id,
            execution_id=data.execution_id,
            node_id=data.node_id,
        )
    except ServiceError as exc:
        raise _business_failure(exc) from exc
    return RenderedPrompt(tenant_id=data.tenant_id, call=dataclasses.asdict(call))


@activity.defn(name="execute_prompt")
def execute_prompt(data: RenderedPrompt) -> PromptResult:
    raw = dict(data.call)
    raw["candidates"] = tuple(Candidate(**c) for c in raw["candidates"])
    raw["messages"] = tuple(ChatMessage(**m) for m in raw["messages"])
    try:
        result = router.execute(router.Call(**raw))
    except ServiceError as exc:
        if exc.status_code == 503:  # every candidate failed or cooled down: let Temporal retry later
            raise
        raise _business_failure(exc) from exc
    return PromptResult(result=result.as_dict())


@activity.defn(name="batch_finish")
def batch_finish(data: BatchFinish) -> None:
    failed = sum(1 for item in data.results if item.get("error"))
    LLMBatch.objects.for_tenant(data.tenant_id).filter(pk=data.batch_id).update(
        status=BatchStatus.COMPLETED_WITH_ERRORS if failed else BatchStatus.COMPLETED,
        results=data.results,
        finished_at=timezone.now(),
    )


ALL = [validate_config, process_template, execute_prompt, batch_finish]
