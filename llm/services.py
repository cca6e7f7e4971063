"""LLM writes: prompt templates, credentials, and turning a request into a gateway call."""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from llm import router
from llm.models import LimitPolicy, LLMBatch, PromptTemplate, PromptTemplateVersion, ProviderCredential
from llm.providers.base import ChatMessage
from llm.routes import Candidate, RouteError, parse_route
from llm.temporal.types import BatchInput
from llm.temporal.workflows import LLMBatchWorkflow
from mono import crypto
from mono.errors import ServiceError
from mono.kernel import templating
from mono.temporal import queues, sync
from mono.temporal.client import get_tenant_client


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
) -> router.Call:
    messages, version = render_messages(tenant_id=tenant_id, spec=spec)
    ttl = (
        spec.cache_ttl_seconds if spec.cache_ttl_seconds is not None else (version.cache_ttl_seconds if version else 0)
    )
    return router.Call(
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


def llm_execute(**kwargs) -> router.Result:
    """Run one prompt through the gateway (limits, failover, usage, cost, cache)."""
    return router.execute(llm_call(**kwargs))


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


def credential_save(*, tenant, name: str, kind: str, api_key: str, base_url: str = "") -> ProviderCredential:
    credential, _ = ProviderCredential.objects.for_tenant(tenant).update_or_create(
        tenant=tenant,
        name=name,
        defaults={"kind": kind, "base_url": base_url, "api_key_encrypted": crypto.encrypt(api_key), "is_active": True},
    )
    return credential


def batch_start(*, tenant, items: list[dict], concurrency: int, user=None):
    """Record a batch and start its workflow on the tenant's LLM queue after commit."""
    for index, item in enumerate(items):
        try:
            candidates_for(PromptSpec(**item))
        except TypeError as exc:
            raise ServiceError({f"items[{index}]": str(exc)}) from exc
    batch = LLMBatch.objects.create(
        tenant=tenant, id=f"llm-batch-{uuid.uuid4().hex}", concurrency=concurrency, total=len(items), created_by=user
    )
    arg = BatchInput(tenant.pk, batch.pk, items, concurrency, user.pk if user else None)

    async def start():
        client = await get_tenant_client(tenant)
        await client.start_workflow(
            LLMBatchWorkflow.run, arg, id=batch.pk, task_queue=queues.LLM_PROCESSING.name(tenant.pk)
        )

    transaction.on_commit(lambda: sync.run(start))
    return batch


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
    return policy


def limit_policy_delete(*, tenant, provider: str) -> bool:
    """Drop the tenant's limits for `provider` (its counters go with it); whether there were any."""
    deleted, _ = LimitPolicy.objects.for_tenant(tenant).filter(provider=provider).delete()
    return deleted > 0
