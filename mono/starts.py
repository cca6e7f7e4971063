"""One durable path for every workflow that starts after a database write.

A service that records a row whose workflow must start (a manual or scheduled run, an inbound
webhook event, an uploaded image, an e-mail campaign, an LLM batch) marks the start as owed in
the same transaction (`OwedStart.next_attempt_at`, set with `owed_from()`) and calls
`start_after_commit`. After commit one try is made at once; if it fails the row keeps its owed
start, its error and its attempt count. `manage.py relay_starts --loop`, a process of its own
beside the web and worker processes, runs `relay_all` every few seconds: it retries every due
row with exponential backoff, and after `MAX_ATTEMPTS` tries gives the row up (its app marks it
failed). It runs outside Temporal on purpose: it keeps trying while Temporal is down and catches
up once it is back.

Each try is counted, and the next one's time set, in a short transaction of its own that holds
the row's lock with SKIP LOCKED, so a try that dies in any way is still counted and two starters
never try one row together. Starts use business-key workflow ids and a workflow already started
under that id counts as started (`start_workflow`), so a relay racing the first try never starts
a second workflow.

Apps own their rows: each registers a `StartKind` (its model, how to start one row, how to give
one up) in its `ready()`; this module imports no app.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections, connections, models, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from mono.temporal import sync
from mono.temporal.client import TemporalUnavailable, get_tenant_client

logger = logging.getLogger(__name__)

# The first try normally happens within milliseconds of the commit; the relay leaves a new row
# this long before trying too, so the two rarely race (if they do, the row lock decides).
FIRST_RELAY_DELAY = timedelta(seconds=30)
FIRST_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=10)
# Tries before a start is given up (about 2.5 hours of backoff in all).
MAX_ATTEMPTS = 20
STARTED = "started"
FAILED = "failed"


class OwedStart(models.Model):
    """The columns of a row whose workflow starts through this module."""

    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts to start the workflow.")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the relay tries to start the workflow; empty once started or given up."
    )

    class Meta:
        abstract = True


class StartRefused(Exception):
    """Retrying cannot help (the workflow was archived, the id is taken): give the start up now."""


class StartFailed(Exception):
    """A try failed; its message is stored as the row's error as it is."""


@dataclass(frozen=True)
class StatusMoves:
    """The `status` of a row whose start is owed, and the ones it takes once started or given up."""

    owed: str
    started: str
    failed: str
    failed_at: str = ""  # a timestamp field set when the row is given up


@dataclass(frozen=True)
class StartKind:
    """What an app registers for one kind of row.

    `launch(row)` starts the row's workflow, idempotent by its workflow id, and returns the fields
    its app keeps about a started row (stored with the row's "started" mark in one UPDATE), or
    None; it raises when Temporal could not take it. `moves`
    changes the row's `status` when it starts (if still `owed`) or is given up; `give_up(row)`
    does what else its app needs, in the transaction that gives the locked row up (its
    `error` is set by then).
    """

    name: str
    model: type[models.Model]
    launch: Callable[[Any], dict[str, Any] | None]
    moves: StatusMoves | None = None
    give_up: Callable[[Any], None] | None = None


_kinds: dict[str, StartKind] = {}


def register(kind: StartKind) -> None:
    """Make a kind of row known to `start_after_commit` and the relay (an app's `ready()`)."""
    _kinds[kind.name] = kind


def owed_from(now: datetime | None = None) -> datetime:
    """The `next_attempt_at` of a new row whose start is owed: the relay's first look at it."""
    return (now or timezone.now()) + FIRST_RELAY_DELAY


def start_after_commit(*, kind: str, pk: Any, background: bool = False, row: Any = None) -> None:
    """Try the row's start once after commit; whatever fails is left to the relay.

    Never raises: a caller answers its client whether Temporal took the start or not. With
    `background`, the try runs on a small shared thread pool so the caller never waits for
    Temporal (inbound webhooks answer the sender at once). `row`, the instance just saved, spares
    reading it again.

    This first try needs no claim: the relay leaves a new row alone for `FIRST_RELAY_DELAY`, far
    longer than one try may take, so nobody else tries it meanwhile.
    """
    if background:
        transaction.on_commit(lambda: _background_pool().submit(_first_try_in_thread, kind, pk))
    else:
        transaction.on_commit(lambda: _first_try(kind, pk, row))


def start_now(*, kind: str, pk: Any, now: datetime | None = None) -> str:
    """Try one owed start now: `STARTED`, `FAILED` (given up) or "" (not owed, or held by another starter).

    Raises what made the try fail, after counting it and storing its error.
    """
    spec = _kinds[kind]
    now = now or timezone.now()
    row, outcome = _claim(spec, pk, now)
    if row is None:
        return outcome
    try:
        kept = spec.launch(row)
    except StartRefused as exc:
        _record_failure(spec, pk, str(exc), give_up=True)
        return FAILED
    except Exception as exc:
        error = _error_of(exc)
        logger.warning("could not start %s %s (attempt %s): %s", kind, pk, row.attempts, error)
        _record_failure(spec, pk, error)
        raise
    _mark_started(spec, pk, kept)
    return STARTED


def _mark_started(spec: StartKind, pk: Any, kept: dict[str, Any] | None, *, count_try: bool = False) -> None:
    done: dict[str, Any] = {"next_attempt_at": None, "error": "", **(kept or {})}
    if count_try:  # a try that was not claimed (and counted) beforehand
        done["attempts"] = F("attempts") + 1
    if spec.moves is not None:
        moves = spec.moves
        done["status"] = Case(When(status=moves.owed, then=Value(moves.started)), default=F("status"))
    spec.model.objects.filter(pk=pk, next_attempt_at__isnull=False).update(**done)


def _error_of(exc: Exception) -> str:
    return str(exc) if isinstance(exc, StartFailed) else f"Could not start the workflow: {exc}"


def _first_try(kind: str, pk: Any, row: Any = None) -> None:
    """The try right after commit (see `start_after_commit`): counted once it has failed."""
    spec = _kinds[kind]
    try:
        if row is None and (row := spec.model.objects.filter(pk=pk, next_attempt_at__isnull=False).first()) is None:
            return
        try:
            kept = spec.launch(row)
        except StartRefused as exc:
            _record_failure(spec, pk, str(exc), give_up=True)
            return
        except Exception as exc:
            error = _error_of(exc)
            logger.warning("could not start %s %s (first attempt): %s; left for the relay", kind, pk, error)
            spec.model.objects.filter(pk=pk, next_attempt_at__isnull=False).update(
                attempts=F("attempts") + 1, error=error
            )
            return
        _mark_started(spec, pk, kept, count_try=True)
    except Exception:  # the database itself may be what failed; the row stays owed for the relay
        logger.exception("first start of %s %s left for the relay", kind, pk)


def relay_due(*, kind: str, limit: int = 100, now: datetime | None = None) -> int:
    """Try the rows of one kind whose next attempt is due; how many started.

    Stops at the first Temporal outage: the rest are tried on the next pass instead of each
    waiting for a connect timeout.
    """
    spec = _kinds[kind]
    now = now or timezone.now()
    due = list(
        spec.model.objects.filter(next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    started = 0
    for pk in due:
        try:
            started += start_now(kind=kind, pk=pk, now=now) == STARTED
        except Exception as exc:
            if is_outage(exc):
                break
            logger.exception("relay: %s %s did not start", kind, pk)
    return started


def relay_all(*, limit: int = 100, now: datetime | None = None) -> dict[str, int]:
    """Run `relay_due` for every registered kind; how many each started. One failing kind does not stop the rest."""
    started = {}
    for name in _kinds:
        try:
            started[name] = relay_due(kind=name, limit=limit, now=now)
        except Exception:
            logger.exception("relay of %s failed", name)
            started[name] = 0
    return started


def start_workflow(*, tenant_id: int, workflow: Any, arg: Any, id: str, task_queue: str, **options: Any) -> Any:
    """Start a workflow in the tenant's namespace; its handle, or None if that id was started already."""

    async def start():
        client = await get_tenant_client(tenant_id)
        try:
            return await client.start_workflow(workflow, arg, id=id, task_queue=task_queue, **options)
        except WorkflowAlreadyStartedError:
            return None  # an earlier try got through: that run is the one

    return sync.run(start)


def is_outage(exc: BaseException) -> bool:
    """Temporal is unreachable or overloaded (as opposed to refusing this one start)."""
    cause = exc.__cause__ if isinstance(exc, StartFailed) and exc.__cause__ is not None else exc
    if isinstance(cause, TemporalUnavailable):
        return True
    return isinstance(cause, RPCError) and cause.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)


def drain() -> None:
    """Wait for the tries already handed to the background pool (shutdown, tests)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)


# Trying one row ------------------------------------------------------------------------------


def _claim(spec: StartKind, pk: Any, now: datetime) -> tuple[Any, str]:
    """Count a try and set the next one's time, committed before trying; (row, "") if ours to try.

    A row that had used all its attempts (a try that died without recording its failure) is
    given up instead: (None, FAILED).
    """
    with transaction.atomic():
        row = (
            spec.model.objects.select_for_update(skip_locked=True).filter(pk=pk, next_attempt_at__isnull=False).first()
        )
        if row is None:
            return None, ""
        if row.attempts >= MAX_ATTEMPTS:
            _give_up(spec, row, _gave_up(row.attempts, row.error or "no error was recorded"))
            return None, FAILED
        row.attempts += 1
        row.next_attempt_at = now + _backoff(row.attempts)
        row.save(update_fields=["attempts", "next_attempt_at"])
        return row, ""


def _record_failure(spec: StartKind, pk: Any, error: str, *, give_up: bool = False) -> None:
    """Store a failed try's error; a refusal or the last allowed try gives the row up."""
    try:
        with transaction.atomic():
            row = spec.model.objects.select_for_update().filter(pk=pk, next_attempt_at__isnull=False).first()
            if row is None:
                return
            if give_up or row.attempts >= MAX_ATTEMPTS:
                _give_up(spec, row, error if give_up else _gave_up(row.attempts, error))
            else:
                row.error = error
                row.save(update_fields=["error"])
    except Exception:  # the database itself may be what failed; the try stays counted
        logger.exception("could not record why %s %s did not start", spec.name, pk)


def _give_up(spec: StartKind, row: Any, error: str) -> None:
    row.error = error
    row.next_attempt_at = None
    fields = ["error", "next_attempt_at"]
    if spec.moves is not None:
        row.status = spec.moves.failed
        fields.append("status")
        if spec.moves.failed_at:
            setattr(row, spec.moves.failed_at, timezone.now())
            fields.append(spec.moves.failed_at)
    row.save(update_fields=fields)
    if spec.give_up is not None:
        spec.give_up(row)


def _gave_up(attempts: int, error: str) -> str:
    return f"Gave up after {attempts} attempts. Last error: {error}"


def _backoff(attempts: int) -> timedelta:
    return min(FIRST_BACKOFF * 2 ** min(attempts - 1, 10), MAX_BACKOFF)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _background_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="start-after-commit")
        return _pool


def _first_try_in_thread(kind: str, pk: Any) -> None:
    close_old_connections()
    try:
        _first_try(kind, pk)
    finally:
        connections.close_all()
