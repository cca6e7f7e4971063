"""LLM writes: the gateway entry, prompt templates, credentials and batches.

Every LLM call, from the API view, the LLM activities or the workflow LLM node, is prepared by
`llm_call` and answered by `llm_execute` (or `llm_stream`), so limits, failover, usage, cost and
cache follow one code path. `llm_failure_is_temporary` is the one rule for which of its failures
are worth retrying; each entry maps it to its own terms (see that function).
"""

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record
from llm import limits, media
from llm.gateway import failover, targets
from llm.gateway import media as media_gateway
from llm.gateway.calls import Call, Result
from llm.limits import RateLimited
from llm.models import BatchStatus, LimitPolicy, LLMBatch, PromptTemplate, PromptTemplateVersion, ProviderCredential
from llm.providers.base import ChatMessage, ToolSpec
from llm.route_parsing import Candidate, RouteError, parse_route
from llm.temporal.types import BatchInput
from llm.temporal.workflows import LLMBatchWorkflow
from mono import crypto, starts
from mono.errors import ServiceError, Unavailable
from mono.kernel import templating
from mono.temporal import queues


@dataclass(frozen=True)
class PromptSpec:
    """A request as the API, a workflow node or a batch item states it."""

    route: str = ""
    provider: str = ""
    model: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    template: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    temperature: float | None = None
    max_tokens: int | None = None
    json_output: bool = False
    cache_ttl_seconds: int | None = None


def candidates_for(spec: PromptSpec, template_version: PromptTemplateVersion | None = None) -> tuple[Candidate, ...]:
    """The candidates to try: the stated provider and model, else the route (spec, template, default)."""
    try:
        if spec.provider or spec.model:
            if not (spec.provider and spec.model):
                raise ServiceError({"model": "Name both provider and model, or a route."})
            return (Candidate(spec.provider, spec.model),)
        route = spec.route or (template_version.route if template_version else "") or settings.LLM_DEFAULT_ROUTE
        return parse_route(route)
    except RouteError as exc:
        raise ServiceError({"route": str(exc)}) from exc


def render_messages(
    *, tenant_id: int, spec: PromptSpec
) -> tuple[tuple[ChatMessage, ...], PromptTemplateVersion | None]:
    """The messages to send: the stated ones, or the template's, rendered in the sandbox.

    A missing variable is a 400 naming it; tenant text never goes through `str.format`.
    """
    version = None
    if spec.template:
        template = PromptTemplate.objects.for_tenant(tenant_id).filter(name=spec.template).first()
        version = template.latest_version if template else None
        if version is None:
            raise ServiceError({"template": f"No prompt template {spec.template!r} in this tenant."})
        raw = ([{"role": "system", "content": version.system}] if version.system else []) + [
            {"role": "user", "content": version.user}
        ]
    elif spec.messages:
        raw = spec.messages
    else:
        raise ServiceError({"messages": "Give messages or a template."})
    rendered = []
    for index, message in enumerate(raw):
        try:
            content = (
                templating.render(message["content"], spec.variables)
                if spec.variables or spec.template
                else message["content"]
            )
        except templating.TemplateError as exc:
            raise ServiceError({"variables" if spec.template else f"messages[{index}]": str(exc)}) from exc
        rendered.append(ChatMessage(role=message["role"], content=content))
    return tuple(rendered), version


def llm_call(
    *,
    tenant_id: int,
    spec: PromptSpec,
    scope: str,
    user_id: int | None = None,
    execution_id: str = "",
    node_id: str = "",
) -> Call:
    """Prepare a gateway call: messages rendered, candidates resolved; a bad spec is a 400 naming the field."""
    messages, version = render_messages(tenant_id=tenant_id, spec=spec)
    ttl = (
        spec.cache_ttl_seconds if spec.cache_ttl_seconds is not None else (version.cache_ttl_seconds if version else 0)
    )
    return Call(
        tenant_id=tenant_id,
        candidates=candidates_for(spec, version),
        messages=messages,
        temperature=spec.temperature,
        max_tokens=spec.max_tokens,
        json_output=spec.json_output,
        cache_ttl_seconds=ttl,
        scope=scope,
        user_id=user_id,
        execution_id=execution_id,
        node_id=node_id,
    )


def llm_tool_call(
    *,
    tenant_id: int,
    spec: PromptSpec,
    messages: tuple[ChatMessage, ...],
    tools: tuple[ToolSpec, ...],
    scope: str = "workflow",
    execution_id: str = "",
    node_id: str = "",
) -> Call:
    """Prepare a gateway call for one agent turn: a transcript already rendered, and the tools offered.

    The spec gives only the route (or provider + model) and sampling; never cached, as each turn
    acts on the world through its tool calls.
    """
    return Call(
        tenant_id=tenant_id,
        candidates=candidates_for(spec),
        messages=messages,
        temperature=spec.temperature,
        max_tokens=spec.max_tokens,
        scope=scope,
        execution_id=execution_id,
        node_id=node_id,
        tools=tools,
    )


def llm_config_check(*, tenant_id: int, spec: PromptSpec) -> None:
    """Refuse a spec whose route is malformed or names a provider this tenant cannot use."""
    for candidate in candidates_for(spec):
        targets.provider_config(candidate.provider, tenant_id)


def llm_execute(*, call: Call) -> Result:
    """The gateway entry: answer `call` (limits, failover, usage, cost, cache).

    Raises a `ServiceError`; `llm_failure_is_temporary` says whether retrying may help.
    """
    return failover.execute(call)


def llm_stream(*, call: Call) -> Iterator[str | Result]:
    """The gateway entry, streamed: text deltas, then the `Result`; it fails like `llm_execute`."""
    return failover.stream(call)


@dataclass(frozen=True)
class ImageSpec:
    """Images as the API or the workflow image node asks for them."""

    prompt: str
    size: str = "1024x1024"
    quality: str = ""
    n: int = 1
    route: str = ""
    provider: str = ""
    model: str = ""
    variables: dict[str, Any] = field(default_factory=dict)


def llm_images(
    *, tenant, spec: ImageSpec, scope: str, user=None, execution_id: str = "", node_id: str = ""
) -> dict[str, Any]:
    """The gateway entry for images: generate them (limits, failover, one usage row per attempt, cost
    per image), store each as a tenant media asset, answer with the assets. 400 naming the field."""
    if not 1 <= spec.n <= settings.LLM_IMAGES_MAX_N:
        raise ServiceError({"n": f"n must be from 1 to {settings.LLM_IMAGES_MAX_N}"})
    try:
        prompt = templating.render(spec.prompt, spec.variables, field="prompt")
    except templating.TemplateError as exc:
        raise ServiceError({"prompt": str(exc)}) from exc
    provider = spec.provider or ("openai" if spec.model and not spec.route else "")
    candidates = candidates_for(PromptSpec(route=spec.route, provider=provider, model=spec.model))
    # Every candidate must take the size: failover must not turn a valid request into a 400.
    quality = ""
    for candidate in candidates:
        quality = media.image_options(candidate=candidate, tenant_id=tenant.pk, size=spec.size, quality=spec.quality)
    call = media_gateway.ImageCall(
        tenant_id=tenant.pk, candidates=candidates, prompt=prompt, size=spec.size, quality=quality, n=spec.n,
        scope=scope, user_id=user.pk if user else None, execution_id=execution_id, node_id=node_id,
    )  # fmt: skip
    result = media_gateway.generate_images(call)
    assets = media.images_store(tenant=tenant, images=result.images, actor=user)
    return {
        "assets": [{"id": a.pk, "content_type": a.content_type, "size": a.size, "status": a.status} for a in assets],
        "revised_prompt": result.revised_prompt, "provider": result.provider, "model": result.model,
        "size": spec.size, "quality": quality, "cost": result.cost, "request_id": result.request_id,
        "attempts": [dataclasses.asdict(a) for a in result.attempts],
    }  # fmt: skip


def llm_transcribe(
    *,
    tenant_id: int,
    audio: bytes | None = None,
    filename: str = "audio",
    media_id: object = None,
    route: str = "",
    provider: str = "",
    model: str = "",
    language: str = "",
    scope: str,
    user_id: int | None = None,
    execution_id: str = "",
    node_id: str = "",
) -> dict[str, Any]:
    """The gateway entry for transcription: `audio` bytes or the tenant's asset `media_id`; answers
    `{text, language, duration}` with its cost (per audio minute). 400 naming `file` or `media`."""
    if audio is None and media_id in (None, ""):
        raise ServiceError({"file": "Give an audio file, or media: the id of an audio asset."})
    field_name = "file" if audio is not None else "media"
    if audio is None:
        audio, filename = media.asset_audio(tenant_id=tenant_id, asset_id=media_id)
    content_type = media.audio_checked(data=audio, field=field_name)
    # Only OpenAI transcribes among the built-ins: a bare model names one of its models.
    provider = provider or ("openai" if model and not route else "")
    candidates = candidates_for(PromptSpec(route=route, provider=provider, model=model))
    call = media_gateway.TranscriptionCall(
        tenant_id=tenant_id, candidates=candidates, audio=audio, filename=filename, content_type=content_type,
        language=language, scope=scope, user_id=user_id, execution_id=execution_id, node_id=node_id,
    )  # fmt: skip
    result = media_gateway.transcribe(call)
    return {
        "text": result.text, "language": result.language, "duration": result.duration,
        "provider": result.provider, "model": result.model, "cost": result.cost, "request_id": result.request_id,
    }  # fmt: skip


# Temporary: the same call may well succeed later, unchanged. Everything else the gateway raises
# is permanent: the spec is invalid (400), a provider refused the request itself (502: invalid,
# unauthorised, content policy, unknown model) or the monthly budget is spent (402).
_TEMPORARY_FAILURES = (
    RateLimited,  # 429: a per-minute window, over within a minute (it says when: Retry-After)
    Unavailable,  # 503: every candidate failed over or was cooling down, or a stream broke
)


def llm_failure_is_temporary(error: BaseException) -> bool:
    """The one rule for which gateway failures are temporary, shared by every entry.

    The API view answers the error's own status (429 and 503 temporary; 400, 402 and 502 with
    the provider's `kind` permanent); the LLM activities raise a retryable `ApplicationError` for a
    temporary failure and a non-retryable one otherwise; the workflow LLM node lets Temporal retry a
    temporary failure and fails the step on a permanent one.
    """
    return isinstance(error, _TEMPORARY_FAILURES)


@transaction.atomic
def prompt_template_save(
    *, tenant, name: str, user: str, system: str = "", route: str = "", cache_ttl_seconds: int = 0, actor=None
) -> PromptTemplateVersion:
    """Create a template or add a version to it; both texts must compile as templates."""
    problems = {f: p for f, p in (("system", templating.check(system)), ("user", templating.check(user))) if p}
    if problems:
        raise ServiceError(problems)
    if route:
        try:
            parse_route(route)
        except RouteError as exc:
            raise ServiceError({"route": str(exc)}) from exc
    template, _ = PromptTemplate.objects.for_tenant(tenant).get_or_create(tenant=tenant, name=name)
    latest = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
    return PromptTemplateVersion.objects.create(
        tenant=tenant, template=template, number=latest + 1, system=system, user=user, route=route,
        cache_ttl_seconds=cache_ttl_seconds, created_by=actor,
    )  # fmt: skip


@transaction.atomic
def credential_save(
    *,
    tenant,
    name: str,
    kind: str,
    base_url: str = "",
    api_key: str | None = None,
    is_active: bool = True,
    credential: ProviderCredential | None = None,
    actor=None,
) -> ProviderCredential:
    """Create or change a tenant's provider credential; the key is stored encrypted and audited as
    changed, never recorded.

    `credential` is the row to change (the admin passes the one it edits, unsaved when new);
    without it the tenant's credential called `name` is changed, or a new one created. An empty
    `api_key` keeps the stored key.
    """
    if credential is None:
        credential = ProviderCredential.objects.for_tenant(tenant).filter(name=name).first() or ProviderCredential()
    created = credential.pk is None
    credential.tenant = tenant
    credential.name, credential.kind, credential.base_url, credential.is_active = name, kind, base_url, is_active
    if api_key:
        credential.api_key_encrypted = crypto.encrypt(api_key)
    credential.full_clean()
    credential.save()
    targets.forget_credentials()
    transaction.on_commit(targets.forget_credentials)
    audit_record(
        tenant=tenant,
        action=AuditAction.PROVIDER_CREDENTIAL_SAVED,
        target=credential,
        actor=actor,
        data={
            "name": name,
            "kind": kind,
            "base_url": base_url,
            "is_active": is_active,
            "created": created,
            "rotated": bool(api_key),
        },
    )
    return credential


BATCH_START_KIND = "LLM batches"


def batch_start(*, tenant, items: list[dict], concurrency: int, user=None):
    """Record a `pending` batch; its workflow starts on the tenant's LLM queue after commit (`mono.starts`)."""
    for index, item in enumerate(items):
        try:
            candidates_for(PromptSpec(**item))
        except TypeError as exc:
            raise ServiceError({f"items[{index}]": str(exc)}) from exc
    with transaction.atomic():
        batch = LLMBatch.objects.create(
            tenant=tenant,
            id=f"llm-batch-{uuid.uuid4().hex}",
            concurrency=concurrency,
            total=len(items),
            items=items,
            created_by=user,
            next_attempt_at=starts.owed_from(),
        )
        starts.start_after_commit(kind=BATCH_START_KIND, pk=batch.pk)
    return batch


def batch_launch(batch: LLMBatch) -> None:
    """Start the batch's workflow (id: the batch id); `mono.starts` marks it `running` once Temporal took it."""
    starts.start_workflow(
        tenant_id=batch.tenant_id,
        workflow=LLMBatchWorkflow.run,
        arg=BatchInput(batch.tenant_id, batch.pk, batch.items, batch.concurrency, batch.created_by_id),
        id=batch.pk,
        task_queue=queues.LLM_PROCESSING.name(batch.tenant_id),
    )


# A batch whose workflow never started is `failed` (its `error` says why).
BATCH_MOVES = starts.StatusMoves(
    owed=BatchStatus.PENDING, started=BatchStatus.RUNNING, failed=BatchStatus.FAILED, failed_at="finished_at"
)


@transaction.atomic
def limit_policy_save(
    *,
    tenant,
    provider: str = "",
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
    monthly_budget: Decimal | None = None,
) -> LimitPolicy:
    """Set the tenant's limits for `provider` (blank: all providers together); None is unlimited.
    The policy row is the one the gateway locks, so a change applies to the next reservation."""
    policy = LimitPolicy.objects.for_tenant(tenant).select_for_update().filter(provider=provider).first()
    policy = policy or LimitPolicy(tenant=tenant, provider=provider)
    policy.requests_per_minute = requests_per_minute
    policy.tokens_per_minute = tokens_per_minute
    policy.monthly_budget = monthly_budget
    policy.full_clean(validate_constraints=False)
    policy.save()
    limits.forget_limited_providers()
    transaction.on_commit(limits.forget_limited_providers)
    return policy


def limit_policy_delete(*, tenant, provider: str) -> bool:
    """Drop the tenant's limits for `provider` (its counters go with it); whether there were any."""
    deleted, _ = LimitPolicy.objects.for_tenant(tenant).filter(provider=provider).delete()
    limits.forget_limited_providers()
    return deleted > 0
