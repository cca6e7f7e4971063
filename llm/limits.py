"""Per-tenant and per-tenant+provider rate limits and monthly budgets.

Enforced atomically across processes with PostgreSQL row locks: a reservation locks the
tenant's matching `LimitPolicy` rows (always in the same order, so two requests cannot
deadlock), checks every limit against the current window's counters plus its own estimate, and
only then adds the estimate. After the call, `settle` replaces the estimate with what was used.
Concurrent requests therefore queue on the lock instead of over-admitting.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F

from llm.models import LimitPolicy, LimitUsage
from mono.errors import ServiceError
from mono.kernel.ttl import TTLCache


class RateLimited(ServiceError):
    status_code = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class BudgetExceeded(ServiceError):
    status_code = 402


@dataclass
class Reservation:
    """What was added to which counters, so `settle` can correct it."""

    counters: list[tuple[int, str, str]] = field(default_factory=list)  # (usage id, kind, window)
    tokens: int = 0
    cost: Decimal = Decimal(0)


def _windows(now: datetime) -> tuple[str, str]:
    return now.strftime("%Y-%m-%dT%H:%M"), now.strftime("%Y-%m")


# Which providers each tenant has limits for ("" = all providers), kept per process for
# LLM_CONFIG_CACHE_SECONDS: most tenants have none, and asking on every call costs a query.
_limited_providers: TTLCache[frozenset[str]] = TTLCache(lambda: settings.LLM_CONFIG_CACHE_SECONDS)


def forget_limited_providers() -> None:
    """Call after a limit policy changes (this process sees it at once, others within the cache time)."""
    _limited_providers.clear()


def _has_limits(tenant_id: int, provider: str) -> bool:
    limited = _limited_providers.get_or_load(
        tenant_id,
        lambda: frozenset(LimitPolicy.objects.for_tenant(tenant_id).values_list("provider", flat=True)),
    )
    return "" in limited or provider in limited


def reserve(*, tenant_id: int, provider: str, tokens: int, cost: Decimal, now: datetime) -> Reservation:
    """Admit one request of about `tokens` and `cost`, or raise RateLimited / BudgetExceeded."""
    if not _has_limits(tenant_id, provider):
        return Reservation(tokens=tokens, cost=cost)  # no limits: no transaction, no lock
    return _reserve_locked(tenant_id=tenant_id, provider=provider, tokens=tokens, cost=cost, now=now)


@transaction.atomic
def _reserve_locked(*, tenant_id: int, provider: str, tokens: int, cost: Decimal, now: datetime) -> Reservation:
    minute, month = _windows(now)
    matching = LimitPolicy.objects.for_tenant(tenant_id).filter(provider__in=["", provider])
    policies = list(matching.select_for_update().order_by("id"))
    reservation = Reservation(tokens=tokens, cost=cost)
    planned: list[tuple[LimitUsage, str]] = []
    for policy in policies:
        scope = f"provider {policy.provider}" if policy.provider else "tenant"
        if policy.requests_per_minute is not None or policy.tokens_per_minute is not None:
            usage, _ = LimitUsage.objects.get_or_create(tenant_id=tenant_id, policy=policy, window=minute)
            retry_after = 60 - now.second
            if policy.requests_per_minute is not None and usage.requests + 1 > policy.requests_per_minute:
                raise RateLimited(f"{scope} limit of {policy.requests_per_minute} requests/min reached", retry_after)
            if policy.tokens_per_minute is not None and usage.tokens + tokens > policy.tokens_per_minute:
                raise RateLimited(f"{scope} limit of {policy.tokens_per_minute} tokens/min reached", retry_after)
            planned.append((usage, "rate"))
        if policy.monthly_budget is not None:
            usage, _ = LimitUsage.objects.get_or_create(tenant_id=tenant_id, policy=policy, window=month)
            if usage.spend + cost > policy.monthly_budget:
                raise BudgetExceeded(f"{scope} monthly budget of {policy.monthly_budget} would be exceeded")
            planned.append((usage, "budget"))
    for usage, kind in planned:
        if kind == "rate":
            LimitUsage.objects.filter(pk=usage.pk).update(requests=F("requests") + 1, tokens=F("tokens") + tokens)
        else:
            LimitUsage.objects.filter(pk=usage.pk).update(spend=F("spend") + cost)
        reservation.counters.append((usage.pk, kind, usage.window))
    return reservation


def settle(reservation: Reservation, *, tokens: int, cost: Decimal) -> None:
    """Replace the reservation's estimate with what the call really used (no lock needed)."""
    for usage_id, kind, _ in reservation.counters:
        if kind == "rate":
            delta = tokens - reservation.tokens
            LimitUsage.objects.filter(pk=usage_id, tokens__gte=max(0, -delta)).update(tokens=F("tokens") + delta)
        else:
            LimitUsage.objects.filter(pk=usage_id).update(spend=F("spend") + (cost - reservation.cost))
