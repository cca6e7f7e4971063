"""Mono's business metrics, kept up to date by a `mono.events` subscriber.

Metrics live in prometheus_client's default registry, so every process shows the events it
handled itself: the web process on `/metrics` (django-prometheus) and the worker process on its
health port's `/metrics`. Prometheus sums them across processes.

One label schema everywhere: `tenant`, `workflow`, `node_type`, `provider`, `model`, `queue`,
`status`. Every label value comes from a bounded set, and ids never become labels:

- `tenant` is the tenant's slug, read once per process and cached (bounded by the number of
  tenants; a renamed slug shows up after the process restarts). Ids would read as noise on a
  dashboard and slugs are what people search for.
- `workflow`, `node_type`, `provider` and `model` are names that tenants choose, so each has a
  per-process budget of distinct values; past it, new values are counted as `other` instead of
  growing the series count without limit.
- `queue` is the task queue's key (`send-email`), never its name (`tenant-42-send-email`).
- `status` values come from code (execution, step, approval and usage statuses).
"""

import logging
import re
import threading
from collections.abc import Callable

from django.db import DatabaseError
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from mono.events import DomainEvent
from mono.temporal.queues import QUEUES_BY_KEY

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
OTHER = "other"
LABELS = ("tenant", "workflow", "node_type", "provider", "model", "queue", "status")

# Runs take seconds to days (approvals, timers); steps take milliseconds to minutes.
EXECUTION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600)
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
APPROVAL_BUCKETS = (60, 300, 900, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600)

EXECUTIONS = Counter(
    "mono_executions",
    "Workflow executions by status: `started` when a run begins, then its final status.",
    ["tenant", "workflow", "status"],
)
EXECUTION_DURATION = Histogram(
    "mono_execution_duration_seconds",
    "Time from a run's start to its final status.",
    ["tenant", "workflow", "status"],
    buckets=EXECUTION_BUCKETS,
)
STEPS = Counter(
    "mono_steps",
    "Step status changes (running, waiting, completed, failed, skipped, cancelled) by node type.",
    ["node_type", "status"],
)
STEP_DURATION = Histogram(
    "mono_step_duration_seconds",
    "Time from a step's start to its final status, by node type.",
    ["node_type", "status"],
    buckets=STEP_BUCKETS,
)
APPROVALS_PENDING = Gauge(
    "mono_approvals_pending",
    "Approvals opened minus approvals decided by this process; sum across processes.",
    ["tenant"],
)
APPROVAL_DECISION_DURATION = Histogram(
    "mono_approval_decision_seconds",
    "Time from an approval's request to its decision, by outcome.",
    ["tenant", "status"],
    buckets=APPROVAL_BUCKETS,
)
APPROVAL_TIMEOUTS = Counter(
    "mono_approval_timeouts",
    "Approvals decided by their deadline rather than by people, by the outcome the deadline chose.",
    ["tenant", "status"],
)
LLM_REQUESTS = Counter(
    "mono_llm_requests",
    "LLM provider attempts and cache hits, by status (ok, error, cached).",
    ["tenant", "provider", "model", "status"],
)
LLM_INPUT_TOKENS = Counter(
    "mono_llm_input_tokens",
    "Prompt tokens sent to LLM providers.",
    ["tenant", "provider", "model"],
)
LLM_OUTPUT_TOKENS = Counter(
    "mono_llm_output_tokens",
    "Completion tokens received from LLM providers.",
    ["tenant", "provider", "model"],
)
LLM_COST = Counter(
    "mono_llm_cost_usd",
    "What LLM calls cost, in US dollars, at the model prices configured when they ran.",
    ["tenant", "provider", "model"],
)
WEBHOOK_EVENTS = Counter(
    "mono_webhook_events",
    "Inbound webhook events by how they were handled.",
    ["tenant", "status"],
)
QUEUE_JOBS = Counter(
    "mono_queue_jobs",
    "Jobs taken from a task queue, by outcome.",
    ["queue", "status"],
)

METRICS: tuple[MetricWrapperBase, ...] = (
    EXECUTIONS,
    EXECUTION_DURATION,
    STEPS,
    STEP_DURATION,
    APPROVALS_PENDING,
    APPROVAL_DECISION_DURATION,
    APPROVAL_TIMEOUTS,
    LLM_REQUESTS,
    LLM_INPUT_TOKENS,
    LLM_OUTPUT_TOKENS,
    LLM_COST,
    WEBHOOK_EVENTS,
    QUEUE_JOBS,
)


# Label values --------------------------------------------------------------------------------


class LabelBudget:
    """Admits the first `limit` distinct values of a label; later ones become `other`."""

    def __init__(self, limit: int):
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: object) -> str:
        text = str(value or "").strip()[:100]
        if not text:
            return UNKNOWN
        with self._lock:
            if text in self._seen:
                return text
            if len(self._seen) < self.limit:
                self._seen.add(text)
                return text
        return OTHER

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()


workflow_label = LabelBudget(1000)
node_type_label = LabelBudget(100)
provider_label = LabelBudget(50)
model_label = LabelBudget(200)

_tenant_slugs: dict[int, str] = {}
_tenant_slugs_lock = threading.Lock()


# Set by the tenants app in its ready(): mono/ sits below the apps and names none of them.
def _no_slugs(tenant_id: int) -> str | None:
    return None


_slug_lookup: Callable[[int], str | None] = _no_slugs


def set_tenant_slug_lookup(lookup: Callable[[int], str | None]) -> None:
    """Tell the metrics how to find a tenant's slug by id (may raise `DatabaseError`)."""
    global _slug_lookup
    _slug_lookup = lookup


def tenant_label(tenant_id: int | None) -> str:
    """The tenant's slug, looked up once per process; `unknown` when there is none to find."""
    if tenant_id is None:
        return UNKNOWN
    slug = _tenant_slugs.get(tenant_id)
    if slug is not None:
        return slug
    try:
        slug = _slug_lookup(tenant_id)
    except DatabaseError:
        logger.warning("metrics: could not look up tenant %s", tenant_id, exc_info=True)
        return UNKNOWN  # not cached: the next event tries again
    if slug is None:
        return UNKNOWN
    with _tenant_slugs_lock:
        _tenant_slugs[tenant_id] = slug
    return slug


_TENANT_QUEUE_PREFIX = re.compile(r"^tenant-\d+-")


def queue_label(queue: str) -> str:
    """A queue's key, given its key or its name (`tenant-42-send-email` -> `send-email`)."""
    key = _TENANT_QUEUE_PREFIX.sub("", queue)
    return key if key in QUEUES_BY_KEY else OTHER


def forget_label_values() -> None:
    """Drop cached slugs and label budgets (tests; a tenant renamed in a long-lived process)."""
    with _tenant_slugs_lock:
        _tenant_slugs.clear()
    for budget in (workflow_label, node_type_label, provider_label, model_label):
        budget.reset()


# Recording -----------------------------------------------------------------------------------


def record_event(event: DomainEvent) -> None:
    """The `mono.events` subscriber: move the metrics an event concerns; ignore other kinds."""
    family, _, action = event.kind.partition(".")
    recorder = _RECORDERS.get(family)
    if recorder is not None:
        recorder(event, action)


def _record_execution(event: DomainEvent, status: str) -> None:
    labels = {
        "tenant": tenant_label(event.tenant_id),
        "workflow": workflow_label(event.data.get("workflow")),
        "status": status,
    }
    EXECUTIONS.labels(**labels).inc()
    seconds = event.data.get("seconds")
    if status != "started" and seconds is not None:
        EXECUTION_DURATION.labels(**labels).observe(seconds)


def _record_step(event: DomainEvent, status: str) -> None:
    labels = {"node_type": node_type_label(event.data.get("node_type")), "status": status}
    STEPS.labels(**labels).inc()
    seconds = event.data.get("seconds")
    if seconds is not None:
        STEP_DURATION.labels(**labels).observe(seconds)


def _record_approval(event: DomainEvent, action: str) -> None:
    tenant = tenant_label(event.tenant_id)
    if action == "requested":
        APPROVALS_PENDING.labels(tenant=tenant).inc()
    elif action == "decided":
        APPROVALS_PENDING.labels(tenant=tenant).dec()
        status = str(event.data.get("status") or UNKNOWN)
        seconds = event.data.get("seconds")
        if seconds is not None:
            APPROVAL_DECISION_DURATION.labels(tenant=tenant, status=status).observe(seconds)
        if event.data.get("timed_out"):
            APPROVAL_TIMEOUTS.labels(tenant=tenant, status=status).inc()


def _record_llm(event: DomainEvent, action: str) -> None:
    if action != "usage":
        return
    data = event.data
    labels = {
        "tenant": tenant_label(event.tenant_id),
        "provider": provider_label(data.get("provider")),
        "model": model_label(data.get("model")),
    }
    LLM_REQUESTS.labels(**labels, status=str(data.get("status") or UNKNOWN)).inc()
    LLM_INPUT_TOKENS.labels(**labels).inc(data.get("input_tokens") or 0)
    LLM_OUTPUT_TOKENS.labels(**labels).inc(data.get("output_tokens") or 0)
    LLM_COST.labels(**labels).inc(float(data.get("cost") or 0))


_RECORDERS: dict[str, Callable[[DomainEvent, str], None]] = {
    "execution": _record_execution,
    "step": _record_step,
    "approval": _record_approval,
    "llm": _record_llm,
}


def record_webhook_event(*, tenant_id: int | None, status: str) -> None:
    """Count one inbound webhook event; `tenant_id` is None when no tenant could be resolved."""
    WEBHOOK_EVENTS.labels(tenant=tenant_label(tenant_id), status=status).inc()


def record_queue_job(*, queue: str, status: str) -> None:
    """Count one job's outcome on a task queue, given the queue's key or its name."""
    QUEUE_JOBS.labels(queue=queue_label(queue), status=status).inc()
