"""Which workflows and activities run on which task queue.

Each app declares its own in `<app>/temporal/worker.py` with `register(...)`; `autodiscover()`
imports those modules (the way `django.contrib.admin` finds `admin.py`), so this layer never
imports an app.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.module_loading import autodiscover_modules

from mono.temporal.queues import Queue, Scope


@dataclass(frozen=True)
class Registration:
    queue: Queue
    workflows: tuple[type, ...] = ()
    activities: tuple[Callable, ...] = ()
    # Read when a worker starts: the server hands out at most this many of the queue's activity
    # tasks a second, across every worker polling it (a per-tenant limit on a tenant queue).
    activities_per_second: Callable[[], float | None] | None = None


_registrations: dict[str, Registration] = {}


def register(
    queue: Queue,
    *,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable] = (),
    activities_per_second: Callable[[], float | None] | None = None,
) -> None:
    """Add workflows and activities to `queue` (repeat calls merge; duplicates are ignored)."""
    current = _registrations.get(queue.key, Registration(queue))
    _registrations[queue.key] = Registration(
        queue,
        workflows=tuple(dict.fromkeys((*current.workflows, *workflows))),
        activities=tuple(dict.fromkeys((*current.activities, *activities))),
        activities_per_second=activities_per_second or current.activities_per_second,
    )


def autodiscover() -> None:
    autodiscover_modules("temporal.worker")


def registrations(scope: Scope | None = None) -> list[Registration]:
    autodiscover()
    return [r for r in _registrations.values() if scope is None or r.queue.scope is scope]
