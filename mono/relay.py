"""Workflow starts that Temporal could not take when they were asked for, retried from outside it.

A service that records a row and starts its workflow after commit (an inbound webhook event, an
uploaded image, an e-mail campaign) leaves the row pending when the start fails. Each app
registers a relay for its pending rows in its `ready()`; `manage.py relay_starts --loop`, a
process of its own beside the web and worker processes, calls them all every few seconds. It
runs outside Temporal on purpose: it keeps trying while Temporal is down and catches up once it
is back. Starts use business-key workflow ids, so a relay racing the first attempt never starts
a second workflow.
"""

import logging
from collections.abc import Callable

from temporalio.service import RPCError, RPCStatusCode

from mono.temporal.client import TemporalUnavailable

logger = logging.getLogger(__name__)

# `relay(limit=...)` starts up to `limit` due rows and returns how many it started.
Relay = Callable[..., int]
_relays: dict[str, Relay] = {}


def register(name: str, relay: Relay) -> None:
    _relays[name] = relay


def relay_all(*, limit: int = 100) -> dict[str, int]:
    """Run every registered relay once; how many each started. A failing relay does not stop the rest."""
    started = {}
    for name, relay in _relays.items():
        try:
            started[name] = relay(limit=limit)
        except Exception:
            logger.exception("relay %s failed", name)
            started[name] = 0
    return started


def is_outage(exc: BaseException) -> bool:
    """Temporal is unreachable or overloaded (as opposed to refusing this one start)."""
    if isinstance(exc, TemporalUnavailable):
        return True
    return isinstance(exc, RPCError) and exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
