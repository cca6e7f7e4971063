"""A route candidate resolved for one attempt: provider configuration, SDK client, health and price.

Health (the cooldown after a rate limit, overload, 5xx or timeout) lives in PostgreSQL, so every
process skips a provider that is cooling down.
"""

import functools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from llm.models import ModelPrice, ProviderCredential, ProviderHealth
from llm.providers.base import Provider, ProviderConfig, ProviderError, build_provider
from llm.route_parsing import Candidate
from mono import crypto
from mono.errors import ServiceError
from mono.kernel.ttl import TTLCache

BUILTIN_PROVIDERS = {"openai": "OPENAI", "anthropic": "ANTHROPIC", "mistral": "MISTRAL"}


# Read on every call, changed rarely: kept per process for LLM_CONFIG_CACHE_SECONDS. A change
# made in this process (credential_save) clears them at once; other processes follow within that time.
_credentials: TTLCache[ProviderConfig | None] = TTLCache(lambda: settings.LLM_CONFIG_CACHE_SECONDS)
_prices: TTLCache["ModelPrice | None"] = TTLCache(lambda: settings.LLM_CONFIG_CACHE_SECONDS)


def forget_credentials() -> None:
    _credentials.clear()


def _tenant_credential(name: str, tenant_id: int) -> ProviderConfig | None:
    credential = ProviderCredential.objects.for_tenant(tenant_id).filter(name=name, is_active=True).first()
    if credential is None:
        return None
    return ProviderConfig(
        kind=credential.kind,
        api_key=crypto.decrypt(credential.api_key_encrypted),
        base_url=credential.base_url or None,
        name=name,
        scope=f"tenant-{tenant_id}",
    )


def provider_config(name: str, tenant_id: int) -> ProviderConfig:
    """The tenant's own credential for `name`, else the platform's settings for a built-in."""
    config = _credentials.get_or_load((tenant_id, name), lambda: _tenant_credential(name, tenant_id))
    if config is not None:
        return config
    if name in BUILTIN_PROVIDERS:
        prefix = BUILTIN_PROVIDERS[name]
        return ProviderConfig(
            kind=name,
            api_key=getattr(settings, f"{prefix}_API_KEY"),
            base_url=getattr(settings, f"{prefix}_BASE_URL") or None,
            name=name,
        )
    raise ServiceError({"route": f"unknown provider {name!r}: not built in and no credential of this tenant"})


def health_key(scope: str, name: str, base_url: str | None) -> str:
    """The circuit breaker of one account: a tenant's own credential never shares the platform's
    (its failures must not cool the platform's provider down for every tenant, nor show it their errors)."""
    return f"{scope}:{name}@{base_url or 'default'}"


@functools.lru_cache(maxsize=128)
def provider_client(config: ProviderConfig) -> Provider:
    """The SDK adapter for `config`, built once per configuration in this process."""
    # Building an SDK client (HTTP pool, TLS context) costs tens of milliseconds; adapters are
    # thread-safe, so one per configuration is kept. A changed key or URL is a new entry.
    return build_provider(config)


def price_of(provider_kind: str, model: str) -> ModelPrice | None:
    """The list price of `model`, or None when no price is known (its calls then cost 0)."""
    return _prices.get_or_load(
        (provider_kind, model), lambda: ModelPrice.objects.filter(provider=provider_kind, model=model).first()
    )


@dataclass(frozen=True)
class Target:
    """One candidate resolved once per attempt: its configuration, health row and price."""

    candidate: Candidate
    config: ProviderConfig
    health_key: str
    health: ProviderHealth | None
    price: ModelPrice | None

    @property
    def skip_reason(self) -> str | None:
        """Why this candidate is not tried now (no key configured, or cooling down), or None."""
        if not self.config.api_key:
            return "no API key configured"
        return "cooling down" if self.cooling_down else None

    @property
    def cooling_down(self) -> bool:
        until = self.health.cooldown_until if self.health else None
        return until is not None and until > timezone.now()

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        return self.price.cost(input_tokens, output_tokens) if self.price else Decimal(0)


def target_for(candidate: Candidate, tenant_id: int) -> Target:
    """Resolve `candidate` for this tenant (its credential, else the platform's)."""
    config = provider_config(candidate.provider, tenant_id)
    key = health_key(config.scope, config.name, config.base_url)
    return Target(
        candidate=candidate,
        config=config,
        health_key=key,
        health=_healths.get_or_load(key, lambda: ProviderHealth.objects.filter(key=key).first()),
        price=price_of(config.kind, candidate.model),
    )


# The breaker is shared through PostgreSQL; each process reads it at most once per
# LLM_HEALTH_CACHE_SECONDS (another process's cooldown reaches this one within that time; this
# process's own cooldowns and recoveries replace its entry at once).
_healths: TTLCache["ProviderHealth | None"] = TTLCache(lambda: settings.LLM_HEALTH_CACHE_SECONDS)


def cool_down(target: Target, error: ProviderError) -> None:
    """Open the breaker: skip this provider everywhere until its cooldown ends."""
    seconds = max(settings.LLM_COOLDOWN_SECONDS, error.retry_after or 0)
    health, _ = ProviderHealth.objects.get_or_create(key=target.health_key)
    health.cooldown_until = timezone.now() + timedelta(seconds=seconds)
    health.consecutive_failures += 1
    health.last_error = f"{error.kind}: {error.message}"[:2000]
    health.save()
    _healths.put(target.health_key, health)


def mark_recovered(target: Target) -> None:
    """Close the breaker after a success, if it had counted failures."""
    if target.health and target.health.consecutive_failures:
        ProviderHealth.objects.filter(pk=target.health.pk).update(consecutive_failures=0, cooldown_until=None)
        _healths.put(target.health_key, None)
