"""Per-tenant limits checked before work is accepted.

`execution_start_check` bounds how many runs one tenant may have pending or running at once
(`TENANT_MAX_CONCURRENT_RUNS`), so a burst of starts from one tenant cannot fill the shared
workers. It reads no more than `limit` index entries (tenant, status), and takes no lock: starts
racing each other may pass the limit by the few that are in flight together, which is fine for
a fairness bound and keeps starts of one tenant from queueing on a lock.
"""

from django.conf import settings

from mono.errors import RetryLater
from workflows.models import ExecutionStatus, WorkflowExecution

# Runs take seconds to months: a client is told to come back after a short while, not to hammer.
RUN_LIMIT_RETRY_AFTER_SECONDS = 10
ACTIVE_STATUSES = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)


def execution_start_check(*, tenant) -> None:
    """Raise `RetryLater` (429) when the tenant already has its maximum of unfinished runs."""
    limit = settings.TENANT_MAX_CONCURRENT_RUNS
    if limit <= 0:
        return  # 0: no limit
    active = WorkflowExecution.objects.for_tenant(tenant).filter(status__in=ACTIVE_STATUSES)
    if active[limit - 1 : limit].exists():
        raise RetryLater(
            f"The tenant has {limit} runs pending or running, its limit; start more once some finish.",
            retry_after=RUN_LIMIT_RETRY_AFTER_SECONDS,
        )
