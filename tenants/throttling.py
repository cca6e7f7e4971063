"""API throttling: a request budget per API key (or session user) and per tenant.

Each budget is a fixed window counter in Django's cache: one atomic `incr` per budget and request
(plus an `add` when a window opens), which keeps the hot path to a cache round trip or two. With
`REDIS_URL` set the cache is Redis, shared by every web process; without it each process counts in
its own memory, so N processes allow up to N times the rate (fine for one box; set REDIS_URL when
running several). A fixed window may let up to twice the rate through around a window boundary;
that is the price of one counter instead of a log of timestamps.

Rates are DRF's scoped rates (`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`, keys `api_key` and
`tenant`, e.g. `"1200/min"`), read per request so a settings change applies at once. An exceeded
budget answers 429 with `Retry-After` (seconds until the window ends). If the cache cannot be
reached the request is let through: throttling must not take the API down with it.

The permission class runs before throttles, so `request.tenant` is resolved by then. The webhook
ingest endpoint is a plain Django view, not a DRF one, and is not throttled here: senders are
authenticated by signature and bounded by their own body limit.
"""

import logging
import math
import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from tenants.models import ApiKey

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """`"120/min"` -> (120, 60); None or empty -> None (no limit)."""
    if not rate:
        return None
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[0].lower()]


class WindowThrottle(BaseThrottle):
    """A fixed-window request counter per `scope` and identity (`identity()`)."""

    scope = ""

    def identity(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        self._wait = None
        rate = parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(self.scope))
        ident = self.identity(request)
        if rate is None or ident is None:
            return True
        limit, period = rate
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{ident}:{period}:{window}"
        try:
            count = self._count(key, timeout=period + 1)
        except Exception:  # the cache is down: let the request through rather than fail it
            logger.warning("throttle %s not counted: cache unavailable", self.scope, exc_info=True)
            return True
        if count <= limit:
            return True
        self._wait = max(1, math.ceil((window + 1) * period - now))
        return False

    @staticmethod
    def _count(key: str, *, timeout: int) -> int:
        # incr first: one round trip for every request but the window's first.
        try:
            return cache.incr(key)
        except ValueError:  # the window's first request (incr refuses a missing key)
            if cache.add(key, 1, timeout=timeout):
                return 1
            return cache.incr(key)  # another request opened the window meanwhile

    def wait(self) -> float | None:
        return self._wait


class ApiKeyThrottle(WindowThrottle):
    """One budget per API key; a session (browser) user has one per user."""

    scope = "api_key"

    def identity(self, request) -> str | None:
        if isinstance(request.auth, ApiKey):
            return f"key-{request.auth.pk}"
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user-{user.pk}"
        return None


class TenantThrottle(WindowThrottle):
    """One budget per tenant, shared by all its keys and members."""

    scope = "tenant"

    def identity(self, request) -> str | None:
        tenant = getattr(request, "tenant", None)
        return f"tenant-{tenant.pk}" if tenant is not None else None
