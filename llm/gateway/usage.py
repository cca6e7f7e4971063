"""Accounting of every provider attempt: admit it against limits and budgets, then record what it
used (one `LLMUsage` row per attempt, a cache hit included) and settle the reservation."""

import time
from contextlib import nullcontext
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from llm import limits
from llm.gateway.calls import Call
from llm.gateway.targets import Target
from llm.models import LLMUsage, UsageStatus
from llm.providers.base import LLMResponse, ProviderError
from llm.route_parsing import Candidate
from mono.events import DomainEvent, emit

DEFAULT_OUTPUT_ESTIMATE = 1024


def _estimate_tokens(call: Call) -> tuple[int, int]:
    prompt = sum(len(m.content) for m in call.messages) // 4 + 1  # ~4 characters a token
    return prompt, call.max_tokens or DEFAULT_OUTPUT_ESTIMATE


def reserve(call: Call, target: Target) -> limits.Reservation:
    """Admit one attempt at its estimated size and cost, or raise RateLimited / BudgetExceeded."""
    prompt, output = _estimate_tokens(call)
    return limits.reserve(
        tenant_id=call.tenant_id,
        provider=target.candidate.provider,
        tokens=prompt + output,
        cost=target.cost(prompt, output),
        now=timezone.now(),
    )


def usage_record(call: Call, candidate: Candidate, **fields) -> LLMUsage:
    """Write one usage row and announce it (`llm.usage`) once committed."""
    usage = LLMUsage.objects.create(
        tenant_id=call.tenant_id,
        scope=call.scope,
        operation=call.operation,
        provider=candidate.provider,
        model=candidate.model,
        user_id=call.user_id,
        execution_id=call.execution_id,
        node_id=call.node_id,
        **fields,
    )
    emit(
        DomainEvent(
            "llm.usage",
            call.tenant_id,
            call.execution_id,
            {
                "provider": usage.provider,
                "model": usage.model,
                "status": usage.status,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cost": float(usage.cost),
                "operation": usage.operation,
            },
        )
    )
    return usage


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def failure_record(
    call: Call, target: Target, error: ProviderError, reservation: limits.Reservation, started: float
) -> None:
    """A failed attempt used nothing: release its reservation and record the error."""
    limits.settle(reservation, tokens=0, cost=Decimal(0))
    usage_record(
        call,
        target.candidate,
        status=UsageStatus.ERROR,
        error_kind=error.kind.value,
        error=error.message[:2000],
        latency_ms=_elapsed_ms(started),
    )


def success_record(
    call: Call,
    target: Target,
    response: LLMResponse,
    reservation: limits.Reservation,
    started: float,
    *,
    streamed: bool,
) -> Decimal:
    """Settle the reservation at what the answer used and record it; returns the cost."""
    cost = target.cost(response.input_tokens, response.output_tokens)
    # Settling and the usage row commit together when there is something to settle.
    with transaction.atomic() if reservation.counters else nullcontext():
        limits.settle(reservation, tokens=response.input_tokens + response.output_tokens, cost=cost)
        usage_record(
            call,
            target.candidate,
            status=UsageStatus.OK,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cost=cost,
            latency_ms=_elapsed_ms(started),
            request_id=response.provider_request_id,
            streamed=streamed,
        )
    return cost
