"""Maintenance workflows. Deterministic: no Django, no I/O."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from maintenance.temporal.types import (
        HousekeepingInput,
        HousekeepingResult,
        NightlyBackupsInput,
        NightlyBackupsResult,
        PurgeInput,
        PurgeResult,
        ScheduledRunInput,
        ScheduledRunResult,
        ScheduledRunStart,
        TenantBackupInput,
        TenantBackupResult,
        TenantPage,
        TenantPageInput,
    )

PAGE_RETRY = RetryPolicy(maximum_attempts=5)
PURGE_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=5))
BACKUP_RETRY = RetryPolicy(maximum_attempts=3, non_retryable_error_types=["TenantNotFound"])
START_RETRY = RetryPolicy(maximum_attempts=10, non_retryable_error_types=["ScheduleTargetGone"])
# Set by Temporal on every workflow a Schedule starts: the time the fire was due.
SCHEDULED_START_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn(name="Housekeeping")
class HousekeepingWorkflow:
    """Purge every tenant's expired history, one activity per tenant, a page of tenants per run.

    After each full page it continues as new, so the history stays small however many tenants
    there are. A tenant that keeps failing is reported and does not stop the others.
    """

    @workflow.run
    async def run(self, data: HousekeepingInput) -> HousekeepingResult:
        deleted, failed = dict(data.deleted), list(data.failed_tenant_ids)
        done, after = data.tenants_done, data.after_tenant_id
        page = await workflow.execute_activity(
            "maintenance_tenant_page",
            TenantPageInput(after=after, limit=data.page_size),
            result_type=TenantPage,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=PAGE_RETRY,
        )
        for tenant_id in page.tenant_ids:
            try:
                result = await workflow.execute_activity(
                    "maintenance_purge_tenant",
                    PurgeInput(tenant_id=tenant_id),
                    result_type=PurgeResult,
                    start_to_close_timeout=timedelta(minutes=30),
                    heartbeat_timeout=timedelta(minutes=2),
                    retry_policy=PURGE_RETRY,
                )
            except ActivityError:
                workflow.logger.warning("housekeeping of tenant %s failed", tenant_id)
                failed.append(tenant_id)
            else:
                for label, count in result.deleted.items():
                    deleted[label] = deleted.get(label, 0) + count
            done, after = done + 1, tenant_id
        if len(page.tenant_ids) >= data.page_size:
            workflow.continue_as_new(HousekeepingInput(after, data.page_size, done, deleted, failed))
        return HousekeepingResult(tenants=done, deleted=deleted, failed_tenant_ids=failed)


@workflow.defn(name="TenantBackup")
class TenantBackupWorkflow:
    """Write one tenant's backup archive."""

    @workflow.run
    async def run(self, data: TenantBackupInput) -> TenantBackupResult:
        # The archive is named once, here, so a retried activity finds it instead of writing another.
        stamp = data.stamp or workflow.now().strftime("%Y%m%dT%H%M%SZ")
        return await workflow.execute_activity(
            "maintenance_tenant_backup",
            TenantBackupInput(tenant_id=data.tenant_id, stamp=stamp),
            result_type=TenantBackupResult,
            start_to_close_timeout=timedelta(hours=1),
            retry_policy=BACKUP_RETRY,
        )


@workflow.defn(name="NightlyBackups")
class NightlyBackupsWorkflow:
    """Back up every active tenant: one `TenantBackup` child per tenant, a few at a time.

    Child ids are business keys (`tenant-backup-{tenant_id}-{date}`), so each tenant's nightly
    archive is one findable run in the Temporal UI.
    """

    @workflow.run
    async def run(self, data: NightlyBackupsInput) -> NightlyBackupsResult:
        tenant_ids: list[int] = []
        while True:
            page = await workflow.execute_activity(
                "maintenance_tenant_page",
                TenantPageInput(after=tenant_ids[-1] if tenant_ids else 0, limit=500, active_only=True),
                result_type=TenantPage,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PAGE_RETRY,
            )
            tenant_ids += page.tenant_ids
            if len(page.tenant_ids) < 500:
                break
        day = workflow.now().strftime("%Y%m%d")
        archives: list[str] = []
        failed: list[int] = []

        async def backup(tenant_id: int) -> None:
            try:
                result = await workflow.execute_child_workflow(
                    "TenantBackup",
                    TenantBackupInput(tenant_id=tenant_id),
                    id=f"tenant-backup-{tenant_id}-{day}",
                    result_type=TenantBackupResult,
                )
            except (ChildWorkflowError, WorkflowAlreadyStartedError):  # failed, or still running from before
                failed.append(tenant_id)
            else:
                archives.append(result.path)

        step = max(1, data.concurrency)
        for start in range(0, len(tenant_ids), step):
            await asyncio.gather(*(backup(tenant_id) for tenant_id in tenant_ids[start : start + step]))
        return NightlyBackupsResult(archives=archives, failed_tenant_ids=failed)


@workflow.defn(name="ScheduledWorkflowRun")
class ScheduledWorkflowRun:
    """Started by a workflow definition's Temporal Schedule: records and starts one run.

    The run goes through `execution_start` like any other, so it has its `WorkflowExecution`
    row, audit entry and interpreter workflow; the fire's scheduled time is its business key.
    """

    @workflow.run
    async def run(self, data: ScheduledRunInput) -> ScheduledRunResult:
        info = workflow.info()
        scheduled_at = info.typed_search_attributes.get(SCHEDULED_START_TIME) or info.start_time
        return await workflow.execute_activity(
            "scheduled_run_start",
            ScheduledRunStart(data.tenant_id, data.definition_id, data.schedule_id, scheduled_at.isoformat()),
            result_type=ScheduledRunResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=START_RETRY,
        )
