"""Domain events: what services announce after their change is committed.

Services call `emit()`; the event reaches every subscriber once the surrounding transaction
commits (at once outside one), in the process that made the change — a web process or a worker.
Subscribers (the live status stream, metrics) register in their app's `ready()`. A failing
subscriber is logged and never breaks the change that was already saved.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    """`kind` is dotted (`execution.started`, `step.completed`, `approval.requested`, ...)."""

    kind: str
    tenant_id: int
    execution_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[DomainEvent], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def emit(event: DomainEvent) -> None:
    transaction.on_commit(lambda: _deliver(event))


def _deliver(event: DomainEvent) -> None:
    for subscriber in list(_subscribers):
        try:
            subscriber(event)
        except Exception:
            logger.exception("event subscriber %r failed on %s", subscriber, event.kind)


# Audited changes ---------------------------------------------------------------------------------
# The audit log (`audit/`) sits above `tenants/`, yet membership and key changes must be audited
# atomically with the change. So a lower floor announces the change here, inside its transaction,
# and the audit app (registered in its ready()) writes the row in that same transaction: an
# error while recording rolls the change back, as a direct `audit_record` call would.

AuditRecorder = Callable[..., Any]
_audit_recorders: list[AuditRecorder] = []


def on_audited_change(recorder: AuditRecorder) -> AuditRecorder:
    """Register `recorder(*, tenant, action, target, actor, data)` for `audit(...)` calls."""
    if recorder not in _audit_recorders:
        _audit_recorders.append(recorder)
    return recorder


def audit(*, tenant: Any, action: str, target: Any, actor: Any = None, data: dict[str, Any] | None = None) -> None:
    """Record a change in the audit log, now, in the caller's transaction (see `on_audited_change`)."""
    for recorder in _audit_recorders:
        recorder(tenant=tenant, action=action, target=target, actor=actor, data=data)
