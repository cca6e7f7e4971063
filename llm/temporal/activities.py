"""LLM activities (sync, on the worker's thread pool), on the tenant's `llm-processing` queue.

Usage is written by the gateway at every provider attempt (the same code path as the API), so
no attempt is lost between activities; there is therefore no separate usage-logging activity.
"""

import dataclasses
from datetime import timedelta

from django.utils import timezone
from temporalio import activity
from temporalio.exceptions import ApplicationError

from llm import services
from llm.gateway.calls import Call
from llm.models import BatchStatus, LLMBatch
from llm.temporal.types import BatchFinish, PromptInput, PromptResult, RenderedPrompt
from mono.errors import ServiceError


def _application_error(exc: ServiceError) -> ApplicationError:
    """The gateway's failure in Temporal's terms: retryable exactly when the shared rule says temporary."""
    temporary = services.llm_failure_is_temporary(exc)
    retry_after = exc.headers.get("Retry-After")
    return ApplicationError(
        str(exc.detail),
        type=type(exc).__name__,
        non_retryable=not temporary,
        # A rate limit says when its window ends: wait that long rather than the policy's backoff.
        next_retry_delay=timedelta(seconds=int(retry_after)) if temporary and retry_after else None,
    )


@activity.defn(name="validate_config")
def validate_config(data: PromptInput) -> None:
    """Refuse a malformed spec (bad route, unknown provider) before any provider is called."""
    try:
        services.llm_config_check(tenant_id=data.tenant_id, spec=services.PromptSpec(**data.spec))
    except ServiceError as exc:
        raise _application_error(exc) from exc


@activity.defn(name="process_template")
def process_template(data: PromptInput) -> RenderedPrompt:
    """Render the prompt and resolve its candidates into a gateway call."""
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
        raise _application_error(exc) from exc
    return RenderedPrompt(tenant_id=data.tenant_id, call=dataclasses.asdict(call))


@activity.defn(name="execute_prompt")
def execute_prompt(data: RenderedPrompt) -> PromptResult:
    """Answer the rendered call through the gateway entry."""
    try:
        result = services.llm_execute(call=Call.from_dict(data.call))
    except ServiceError as exc:
        raise _application_error(exc) from exc
    return PromptResult(result=result.as_dict())


@activity.defn(name="batch_finish")
def batch_finish(data: BatchFinish) -> None:
    """Store the batch's results and its final status."""
    failed = sum(1 for item in data.results if item.get("error"))
    LLMBatch.objects.for_tenant(data.tenant_id).filter(pk=data.batch_id).update(
        status=BatchStatus.COMPLETED_WITH_ERRORS if failed else BatchStatus.COMPLETED,
        results=data.results,
        finished_at=timezone.now(),
    )


ALL = [validate_config, process_template, execute_prompt, batch_finish]
