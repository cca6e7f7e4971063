"""LLM reads: analytics, configured providers, batches, templates."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from llm.gateway.targets import BUILTIN_PROVIDERS, health_key
from llm.models import (
    LimitPolicy,
    LimitUsage,
    LLMBatch,
    LLMUsage,
    ModelPrice,
    PromptTemplate,
    ProviderCredential,
    ProviderHealth,
)

GROUPINGS = {
    "day": "day",
    "provider": "provider",
    "model": "model",
    "scope": "scope",
    "workflow": "execution_id",
    "operation": "operation",
}


def usage_analytics(*, tenant, group_by: list[str], since: date | None = None, until: date | None = None) -> list[dict]:
    """Tokens, images, audio seconds, cost and request counts of the tenant's usage rows, grouped as asked."""
    rows = LLMUsage.objects.for_tenant(tenant)
    if since:
        rows = rows.filter(created_at__date__gte=since)
    if until:
        rows = rows.filter(created_at__date__lte=until)
    rows = rows.annotate(day=TruncDay("created_at"))
    fields = [GROUPINGS[g] for g in group_by]
    summary = (
        rows.values(*fields)
        .annotate(
            requests=Count("id"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            images=Sum("images"),
            audio_seconds=Sum("audio_seconds"),
            cost=Sum("cost"),
        )
        .order_by(*fields)
    )
    return [
        {**{g: (row[GROUPINGS[g]].date().isoformat() if g == "day" else row[GROUPINGS[g]]) for g in group_by},
         "requests": row["requests"], "input_tokens": row["input_tokens"] or 0,
         "output_tokens": row["output_tokens"] or 0, "images": row["images"] or 0,
         "audio_seconds": float(row["audio_seconds"] or 0), "cost": str(row["cost"] or 0)}
        for row in summary
    ]  # fmt: skip


def provider_list(*, tenant) -> list[dict]:
    """Providers this tenant can route to: built-ins with a platform key, and its own credentials."""
    now = timezone.now()
    entries, keys = [], []
    for name, prefix in BUILTIN_PROVIDERS.items():
        if getattr(settings, f"{prefix}_API_KEY"):
            entries.append({"name": name, "kind": name, "source": "platform"})
            keys.append(health_key("platform", name, getattr(settings, f"{prefix}_BASE_URL") or None))
    for credential in ProviderCredential.objects.for_tenant(tenant).filter(is_active=True):
        entries.append({"name": credential.name, "kind": credential.kind, "source": "tenant"})
        keys.append(health_key(f"tenant-{tenant.pk}", credential.name, credential.base_url or None))
    # Only the breakers of accounts this tenant routes to: never another tenant's errors.
    health = {h.key: h for h in ProviderHealth.objects.filter(key__in=keys)}
    prices = list(ModelPrice.objects.all())
    for entry, key in zip(entries, keys, strict=True):
        state = health.get(key)
        entry["cooling_down_until"] = (
            state.cooldown_until if state and state.cooldown_until and state.cooldown_until > now else None
        )
        entry["last_error"] = state.last_error if state else ""
        entry["models"] = [
            {
                "model": p.model,
                "input_per_million": str(p.input_per_million),
                "output_per_million": str(p.output_per_million),
            }
            for p in prices
            if p.provider == entry["kind"]
        ]
    return entries


def batch_get(*, tenant, batch_id: str) -> LLMBatch | None:
    return LLMBatch.objects.for_tenant(tenant).filter(pk=batch_id).first()


def prompt_template_list(*, tenant):
    return PromptTemplate.objects.for_tenant(tenant).prefetch_related("versions")


def limit_list(*, tenant, now=None) -> list[dict]:
    """The tenant's limit policies (blank provider: all providers together), each with what the
    current month's budget window has spent, as the gateway enforces it."""
    month = (now or timezone.now()).strftime("%Y-%m")  # the budget window's key, as `llm.limits` writes it
    policies = LimitPolicy.objects.for_tenant(tenant).order_by("provider")
    windows = LimitUsage.objects.for_tenant(tenant).filter(policy__in=policies, window=month)
    spent = dict(windows.values_list("policy_id", "spend"))
    return [
        {
            "provider": policy.provider,
            "requests_per_minute": policy.requests_per_minute,
            "tokens_per_minute": policy.tokens_per_minute,
            "monthly_budget": policy.monthly_budget,
            "month": month,
            "spent": spent.get(policy.pk, Decimal(0)),
        }
        for policy in policies
    ]
