"""The LLM gateway: one code path for API requests, workflow steps and batches.

For each candidate of the route, in order: skip it while it cools down, reserve limits and
budget, call the provider through its official SDK, record one usage row per attempt, settle
the reservation. Rate limits, overloads, 5xx and timeouts cool the provider down (for every
process: the state is in PostgreSQL) and move on to the next candidate; invalid requests, auth
and content-policy errors fail at once.
"""

import functools
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from llm import limits
from llm.models import CachedResponse, LLMUsage, ModelPrice, ProviderCredential, ProviderHealth, UsageStatus
from llm.providers.base import (
    ChatMessage,
    LLMRequest,
    LLMResponse,
    ProviderConfig,
    ProviderError,
    StreamDelta,
    build_provider,
)
from llm.routes import Candidate
from mono import crypto
from mono.errors import ServiceError, Unavailable
from mono.events import DomainEvent, emit

BUILTIN_PROVIDERS = {"openai": "OPENAI", "anthropic": "ANTHROPIC", "mistral": "MISTRAL"}
DEFAULT_OUTPUT_ESTIMATE = 1024


class ProviderRefused(ServiceError):
    """A provider refused the request itself (invalid, unauthorised, content policy): no failover."""

    status_code = 502

    def __init__(self, error: ProviderError, candidate: Candidate):
        super().__init__({"detail": f"{candidate} refused the request: {error.message}", "kind": error.kind.value})
        self.error = error


@dataclass(frozen=True)
class Call:
    """What to ask, and where it is accounted."""

    tenant_id: int
    candidates: tuple[Candidate, ...]
    messages: tuple[ChatMessage, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    json_output: bool = False
    cache_ttl_seconds: int = 0
    scope: str = "api"
    user_id: int | None = None
    execution_id: str = ""
    node_id: str = ""


@dataclass(frozen=True)
class Attempt:
    provider: str
    model: str
    status: str
    error: str = ""


@dataclass(frozen=True)
class Result:
    content: str
    finish_reason: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost: str  # decimal as text: JSON- and Temporal-safe
    cached: bool
    request_id: str
    attempts: list[Attempt] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def execute(call: Call) -> Result:
    """Answer `call` from the cache or the first candidate that succeeds."""
    if cached := _cache_get(call):
        return cached
    attempts: list[Attempt] = []
    for candidate in call.candidates:
        target = _target(candidate, call.tenant_id)
        if target.cooling_down:
            attempts.append(Attempt(candidate.provider, candidate.model, "skipped", "cooling down"))
            continue
        reservation, started = _reserve(call, target), time.monotonic()
        try:
            response = _built(target.config).complete(_request(call, candidate))
        except ProviderError as error:
            _failed(call, target, error, reservation, started, attempts)
            continue
        return _succeeded(call, target, response, reservation, started, attempts, streamed=False)
    raise Unavailable({"detail": "No provider of the route could answer.", "attempts": [asdict(a) for a in attempts]})


def stream(call: Call) -> Iterator[str | Result]:
    """Yield text deltas, then the `Result`. Failover happens only before the first delta.

    If the consumer stops early (a client disconnects), the provider's stream is still read to
    its end so the usage is known and recorded: the provider bills it either way.
    """
    if cached := _cache_get(call):
        yield cached.content
        yield cached
        return
    attempts: list[Attempt] = []
    for candidate in call.candidates:
        target = _target(candidate, call.tenant_id)
        if target.cooling_down:
            attempts.append(Attempt(candidate.provider, candidate.model, "skipped", "cooling down"))
            continue
        reservation, started = _reserve(call, target), time.monotonic()
        events = _built(target.config).stream(_request(call, candidate))
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
            if emitted:
                _failed(call, target, error, reservation, started, attempts)
                raise Unavailable(f"{candidate} failed mid-stream: {error.message}") from error
            _failed(call, target, error, reservation, started, attempts)
            continue
        finally:
            if final is None and emitted:  # consumer went away: drain for the usage
                final = _drain(events)
                if final is not None:
                    _succeeded(call, target, final, reservation, started, attempts, streamed=True)
        yield _succeeded(call, target, final, reservation, started, attempts, streamed=True)
        return
    raise Unavailable({"detail": "No provider of the route could answer.", "attempts": [asdict(a) for a in attempts]})


def _drain(events) -> LLMResponse | None:
    try:
        for event in events:
            if isinstance(event, LLMResponse):
                return event
    except ProviderError:
        return None
    return None


# Providers ---------------------------------------------------------------------------------------


def provider_config(name: str, tenant_id: int) -> ProviderConfig:
    """The tenant's own credential for `name`, else the platform's settings for a built-in."""
    credential = ProviderCredential.objects.for_tenant(tenant_id).filter(name=name, is_active=True).first()
    if credential is not None:
        return ProviderConfig(
            kind=credential.kind,
            api_key=crypto.decrypt(credential.api_key_encrypted),
            base_url=credential.base_url or None,
            name=name,
        )
    if name in BUILTIN_PROVIDERS:
        prefix = BUILTIN_PROVIDERS[name]
        return ProviderConfig(
            kind=name,
            api_key=getattr(settings, f"{prefix}_API_KEY"),
            base_url=getattr(settings, f"{prefix}_BASE_URL") or None,
            name=name,
        )
    raise ServiceError({"route": f"unknown provider {name!r}: not built in and no credential of this tenant"})


@functools.lru_cache(maxsize=128)
def _built(config: ProviderConfig):
    # Building an SDK client (HTTP pool, TLS context) costs tens of milliseconds; adapters are
    # thread-safe, so one per configuration is kept. A changed key or URL is a new entry.
    return build_provider(config)


def _request(call: Call, candidate: Candidate) -> LLMRequest:
    return LLMRequest(
        model=candidate.model,
        messages=call.messages,
        temperature=call.temperature,
        max_tokens=call.max_tokens,
        response_format_json=call.json_output,
        timeout_seconds=settings.LLM_TIMEOUT_SECONDS,
    )


@dataclass(frozen=True)
class _Target:
    """One candidate resolved once per attempt: its configuration, health row and price."""

    candidate: Candidate
    config: ProviderConfig
    health_key: str
    health: ProviderHealth | None
    price: ModelPrice | None

    @property
    def cooling_down(self) -> bool:
        until = self.health.cooldown_until if self.health else None
        return until is not None and until > timezone.now()

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        return self.price.cost(input_tokens, output_tokens) if self.price else Decimal(0)


def _target(candidate: Candidate, tenant_id: int) -> _Target:
    config = provider_config(candidate.provider, tenant_id)
    key = f"{config.name}@{config.base_url or 'default'}"
    return _Target(
        candidate=candidate,
        config=config,
        health_key=key,
        health=ProviderHealth.objects.filter(key=key).first(),
        price=price_of(config.kind, candidate.model),
    )


def _cool_down(target: _Target, error: ProviderError) -> None:
    seconds = max(settings.LLM_COOLDOWN_SECONDS, error.retry_after or 0)
    health, _ = ProviderHealth.objects.get_or_create(key=target.health_key)
    health.cooldown_until = timezone.now() + timedelta(seconds=seconds)
    health.consecutive_failures += 1
    health.last_error = f"{error.kind}: {error.message}"[:2000]
    health.save()


# Accounting --------------------------------------------------------------------------------------


def price_of(provider_kind: str, model: str) -> ModelPrice | None:
    return ModelPrice.objects.filter(provider=provider_kind, model=model).first()


def _estimate_tokens(call: Call) -> tuple[int, int]:
    prompt = sum(len(m.content) for m in call.messages) // 4 + 1  # ~4 characters a token
    return prompt, call.max_tokens or DEFAULT_OUTPUT_ESTIMATE


def _reserve(call: Call, target: _Target) -> limits.Reservation:
    prompt, output = _estimate_tokens(call)
    return limits.reserve(
        tenant_id=call.tenant_id,
        provider=target.candidate.provider,
        tokens=prompt + output,
        cost=target.cost(prompt, output),
        now=timezone.now(),
    )


def _usage(call: Call, candidate: Candidate, **fields) -> LLMUsage:
    usage = LLMUsage.objects.create(
        tenant_id=call.tenant_id,
        scope=call.scope,
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
            },
        )
    )
    return usage


def _failed(call, target: _Target, error: ProviderError, reservation, started: float, attempts: list[Attempt]) -> None:
    candidate = target.candidate
    limits.settle(reservation, tokens=0, cost=Decimal(0))
    _usage(
        call,
        candidate,
        status=UsageStatus.ERROR,
        error_kind=error.kind.value,
        error=error.message[:2000],
        latency_ms=int((time.monotonic() - started) * 1000),
    )
    attempts.append(Attempt(candidate.provider, candidate.model, "error", f"{error.kind}: {error.message}"))
    if not error.kind.failover:
        raise ProviderRefused(error, candidate)
    _cool_down(target, error)


def _succeeded(
    call, target: _Target, response: LLMResponse, reservation, started, attempts, *, streamed: bool
) -> Result:
    candidate = target.candidate
    cost = target.cost(response.input_tokens, response.output_tokens)
    # Settling and the usage row commit together when there is something to settle.
    with transaction.atomic() if reservation.counters else nullcontext():
        limits.settle(reservation, tokens=response.input_tokens + response.output_tokens, cost=cost)
        _usage(
            call,
            candidate,
            status=UsageStatus.OK,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cost=cost,
            latency_ms=int((time.monotonic() - started) * 1000),
            request_id=response.provider_request_id,
            streamed=streamed,
        )
        if target.health and target.health.consecutive_failures:  # recovered: close the breaker
            ProviderHealth.objects.filter(pk=target.health.pk).update(consecutive_failures=0, cooldown_until=None)
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
    )
    _cache_put(call, result)
    return result


# Cache -------------------------------------------------------------------------------------------


def cache_key(call: Call) -> str:
    normalised = {
        "candidates": [str(c) for c in call.candidates],
        "messages": [[m.role, m.content] for m in call.messages],
        "temperature": call.temperature,
        "max_tokens": call.max_tokens,
        "json": call.json_output,
    }
    return hashlib.sha256(json.dumps(normalised, sort_keys=True).encode()).hexdigest()


def _cache_get(call: Call) -> Result | None:
    if not call.cache_ttl_seconds:
        return None
    entry = (
        CachedResponse.objects.for_tenant(call.tenant_id)
        .filter(key=cache_key(call), expires_at__gt=timezone.now())
        .first()
    )
    if entry is None:
        return None
    stored = entry.response
    result = Result(**{**stored, "cached": True, "cost": "0", "attempts": []})
    _usage(
        call,
        Candidate(stored["provider"], stored["model"]),
        status=UsageStatus.CACHED,
        input_tokens=0,
        output_tokens=0,
        request_id=stored["request_id"],
    )
    return result


def _cache_put(call: Call, result: Result) -> None:
    if not call.cache_ttl_seconds:
        return
    stored = {k: v for k, v in result.as_dict().items() if k != "attempts"}
    CachedResponse.objects.update_or_create(
        tenant_id=call.tenant_id,
        key=cache_key(call),
        defaults={"response": stored, "expires_at": timezone.now() + timedelta(seconds=call.cache_ttl_seconds)},
    )
