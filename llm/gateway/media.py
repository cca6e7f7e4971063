"""Images and transcription through the same walk as chat: a route's candidates in order, each skipped
while it cools down, admitted against limits and budget, recorded as one usage row per attempt
(`operation` image or transcription), cooled down and failed over on a temporary failure, refused
at once (502 with its kind) when the provider refuses the request itself.

Cost comes from the price table: per image by size and quality, per audio minute.
"""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from llm import limits
from llm.gateway import targets
from llm.gateway.calls import Attempt
from llm.gateway.failover import ProviderRefused
from llm.gateway.usage import usage_record
from llm.models import UsageOperation, UsageStatus
from llm.providers.base import ImageRequest, Provider, ProviderError, TranscriptionRequest
from llm.route_parsing import Candidate
from mono.errors import ServiceError, Unavailable

# Only these provider kinds have image and transcription endpoints.
MEDIA_KINDS = ("openai", "openai_compatible")
# Before a transcription the audio's length is unknown; budgets are reserved at about 128 kbit/s.
ESTIMATED_AUDIO_BYTES_PER_SECOND = 16_000


@dataclass(frozen=True)
class ImageCall:
    """Images to generate, and where their usage is accounted."""

    tenant_id: int
    candidates: tuple[Candidate, ...]
    prompt: str
    size: str
    quality: str
    n: int = 1
    scope: str = "api"
    user_id: int | None = None
    execution_id: str = ""
    node_id: str = ""
    operation = UsageOperation.IMAGE


@dataclass(frozen=True)
class TranscriptionCall:
    """Audio to transcribe (never sent through Temporal: the bytes stay in the process)."""

    tenant_id: int
    candidates: tuple[Candidate, ...]
    audio: bytes = field(repr=False)
    filename: str = "audio"
    content_type: str = "application/octet-stream"
    language: str = ""
    scope: str = "api"
    user_id: int | None = None
    execution_id: str = ""
    node_id: str = ""
    operation = UsageOperation.TRANSCRIPTION


@dataclass(frozen=True)
class MediaResult:
    """What a media call produced (`images` bytes or `text`), its provider, cost and attempts."""

    provider: str
    model: str
    cost: str
    request_id: str
    attempts: list[Attempt]
    images: tuple[bytes, ...] = ()
    revised_prompt: str = ""
    text: str = ""
    language: str = ""
    duration: float = 0.0


T = TypeVar("T")


def _walk(
    call: ImageCall | TranscriptionCall,
    *,
    estimate: Callable[[targets.Target], Decimal],
    perform: Callable[[Provider, Candidate], T],
    settle: Callable[[targets.Target, T], tuple[Decimal, dict[str, Any]]],
) -> tuple[targets.Target, T, Decimal, list[Attempt]]:
    attempts: list[Attempt] = []
    for candidate in call.candidates:
        target = targets.target_for(candidate, call.tenant_id)
        if target.config.kind not in MEDIA_KINDS:
            raise ServiceError({"route": f"{candidate.provider} has no {call.operation} endpoint; use openai"})
        if reason := target.skip_reason:
            attempts.append(Attempt(candidate.provider, candidate.model, "skipped", reason))
            continue
        reservation = limits.reserve(
            tenant_id=call.tenant_id, provider=candidate.provider, tokens=0, cost=estimate(target), now=timezone.now()
        )
        started = time.monotonic()
        try:
            response = perform(targets.provider_client(target.config), candidate)
        except ProviderError as error:
            limits.settle(reservation, tokens=0, cost=Decimal(0))
            usage_record(
                call, candidate, status=UsageStatus.ERROR, error_kind=error.kind.value, error=error.message[:2000],
                latency_ms=int((time.monotonic() - started) * 1000),
            )  # fmt: skip
            attempts.append(Attempt(candidate.provider, candidate.model, "error", f"{error.kind}: {error.message}"))
            if not error.kind.failover:
                raise ProviderRefused(error, candidate) from error
            targets.cool_down(target, error)
            continue
        cost, fields = settle(target, response)
        with transaction.atomic():
            limits.settle(reservation, tokens=0, cost=cost)
            usage_record(
                call, candidate, status=UsageStatus.OK, cost=cost,
                latency_ms=int((time.monotonic() - started) * 1000), **fields,
            )  # fmt: skip
        targets.mark_recovered(target)
        attempts.append(Attempt(candidate.provider, candidate.model, "ok"))
        return target, response, cost, attempts
    raise Unavailable({"detail": "No provider of the route could answer.", "attempts": [asdict(a) for a in attempts]})


def generate_images(call: ImageCall) -> MediaResult:
    """Generate the call's images through the first candidate that can."""

    def estimate(target: targets.Target) -> Decimal:
        return target.price.image_cost(call.size, call.quality, call.n) if target.price else Decimal(0)

    def perform(provider: Provider, candidate: Candidate):
        request = ImageRequest(
            model=candidate.model, prompt=call.prompt, size=call.size, quality=call.quality, n=call.n
        )
        return provider.generate_images(request)

    def settle(target: targets.Target, response) -> tuple[Decimal, dict[str, Any]]:
        count = len(response.images)
        cost = target.price.image_cost(call.size, call.quality, count) if target.price else Decimal(0)
        return cost, {"images": count, "request_id": response.provider_request_id}

    target, response, cost, attempts = _walk(call, estimate=estimate, perform=perform, settle=settle)
    return MediaResult(
        provider=target.candidate.provider, model=target.candidate.model, cost=str(cost),
        request_id=response.provider_request_id, attempts=attempts, images=response.images,
        revised_prompt=response.revised_prompt,
    )  # fmt: skip


def transcribe(call: TranscriptionCall) -> MediaResult:
    """Transcribe the call's audio through the first candidate that can."""

    def estimate(target: targets.Target) -> Decimal:
        seconds = len(call.audio) / ESTIMATED_AUDIO_BYTES_PER_SECOND
        return target.price.audio_cost(seconds) if target.price else Decimal(0)

    def perform(provider: Provider, candidate: Candidate):
        request = TranscriptionRequest(
            model=candidate.model, audio=call.audio, filename=call.filename, content_type=call.content_type,
            language=call.language,
        )  # fmt: skip
        return provider.transcribe(request)

    def settle(target: targets.Target, response) -> tuple[Decimal, dict[str, Any]]:
        cost = target.price.audio_cost(response.duration) if target.price else Decimal(0)
        seconds = Decimal(str(round(response.duration, 2)))
        return cost, {"audio_seconds": seconds, "request_id": response.provider_request_id}

    target, response, cost, attempts = _walk(call, estimate=estimate, perform=perform, settle=settle)
    return MediaResult(
        provider=target.candidate.provider, model=target.candidate.model, cost=str(cost),
        request_id=response.provider_request_id, attempts=attempts, text=response.text,
        language=response.language, duration=response.duration,
    )  # fmt: skip
