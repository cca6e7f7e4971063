"""The walk over a route's candidates: one code path for API requests, workflow steps and batches.

For each candidate of the route, in order: skip it while it cools down, reserve limits and
budget, call the provider through its official SDK, record one usage row per attempt, settle
the reservation. Rate limits, overloads, 5xx and timeouts cool the provider down (for every
process: the state is in PostgreSQL) and move on to the next candidate; invalid requests, auth
and content-policy errors fail at once (`ProviderRefused`). When no candidate answers, the call
is `Unavailable`. Which of these failures are temporary is decided once, in `llm.services`.
"""

import time
from collections.abc import Iterator
from dataclasses import asdict

from django.conf import settings

from llm import limits
from llm.gateway import cache, targets, usage
from llm.gateway.calls import Attempt, Call, Result
from llm.gateway.targets import Target
from llm.providers.base import LLMRequest, LLMResponse, ProviderError, StreamDelta
from llm.route_parsing import Candidate
from mono.errors import ServiceError, Unavailable


class ProviderRefused(ServiceError):
    """A provider refused the request itself (invalid, unauthorised, content policy): no failover."""

    status_code = 502

    def __init__(self, error: ProviderError, candidate: Candidate):
        super().__init__({"detail": f"{candidate} refused the request: {error.message}", "kind": error.kind.value})
        self.error = error


def execute(call: Call) -> Result:
    """Answer `call` from the cache or the first candidate that succeeds."""
    if cached := cache.cached_result(call):
        return cached
    attempts: list[Attempt] = []
    for candidate in call.candidates:
        target = targets.target_for(candidate, call.tenant_id)
        if reason := target.skip_reason:
            attempts.append(Attempt(candidate.provider, candidate.model, "skipped", reason))
            continue
        reservation, started = usage.reserve(call, target), time.monotonic()
        try:
            response = targets.provider_client(target.config).complete(_request(call, candidate))
        except ProviderError as error:
            _failed(call, target, error, reservation, started, attempts)
            continue
        return _succeeded(call, target, response, reservation, started, attempts, streamed=False)
    raise _none_answered(attempts)


def stream(call: Call) -> Iterator[str | Result]:
    """Yield text deltas, then the `Result`. Failover happens only before the first delta.

    If the consumer stops early (a client disconnects), the provider's stream is still read to
    its end so the usage is known and recorded: the provider bills it either way.
    """
    if cached := cache.cached_result(call):
        yield cached.content
        yield cached
        return
    attempts: list[Attempt] = []
    for candidate in call.candidates:
        target = targets.target_for(candidate, call.tenant_id)
        if reason := target.skip_reason:
            attempts.append(Attempt(candidate.provider, candidate.model, "skipped", reason))
            continue
        reservation, started = usage.reserve(call, target), time.monotonic()
        events = targets.provider_client(target.config).stream(_request(call, candidate))
        emitted = False
        final: LLMResponse | None = None
        try:
            for event in events:
                if isinstance(event, StreamDelta):
                    emitted = True
                    yield event.text
                else:
                    final = event
        except ProviderError as error:
            _failed(call, target, error, reservation, started, attempts)
            if emitted:
                raise Unavailable(f"{candidate} failed mid-stream: {error.message}") from error
            continue
        finally:
            if final is None and emitted:  # consumer went away: drain for the usage
                final = _drain(events)
                if final is not None:
                    _succeeded(call, target, final, reservation, started, attempts, streamed=True)
        yield _succeeded(call, target, final, reservation, started, attempts, streamed=True)
        return
    raise _none_answered(attempts)


def _none_answered(attempts: list[Attempt]) -> Unavailable:
    return Unavailable({"detail": "No provider of the route could answer.", "attempts": [asdict(a) for a in attempts]})


def _drain(events) -> LLMResponse | None:
    try:
        for event in events:
            if isinstance(event, LLMResponse):
                return event
    except ProviderError:
        return None
    return None


def _request(call: Call, candidate: Candidate) -> LLMRequest:
    return LLMRequest(
        model=candidate.model,
        messages=call.messages,
        temperature=call.temperature,
        max_tokens=call.max_tokens,
        response_format_json=call.json_output,
        timeout_seconds=settings.LLM_TIMEOUT_SECONDS,
        tools=call.tools,
    )


def _failed(
    call: Call,
    target: Target,
    error: ProviderError,
    reservation: limits.Reservation,
    started: float,
    attempts: list[Attempt],
) -> None:
    """Record the failed attempt, then refuse the call or cool the provider down and go on."""
    candidate = target.candidate
    usage.failure_record(call, target, error, reservation, started)
    attempts.append(Attempt(candidate.provider, candidate.model, "error", f"{error.kind}: {error.message}"))
    if not error.kind.failover:
        raise ProviderRefused(error, candidate)
    targets.cool_down(target, error)


def _succeeded(
    call: Call,
    target: Target,
    response: LLMResponse,
    reservation: limits.Reservation,
    started: float,
    attempts: list[Attempt],
    *,
    streamed: bool,
) -> Result:
    candidate = target.candidate
    cost = usage.success_record(call, target, response, reservation, started, streamed=streamed)
    targets.mark_recovered(target)
    attempts.append(Attempt(candidate.provider, candidate.model, "ok"))
    result = Result(
        content=response.content,
        finish_reason=response.finish_reason,
        provider=candidate.provider,
        model=response.model or candidate.model,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cost=str(cost),
        cached=False,
        request_id=response.provider_request_id,
        attempts=list(attempts),
        tool_calls=list(response.tool_calls),
    )
    cache.result_store(call, result)
    return result
