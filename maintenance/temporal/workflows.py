"""Maintenance workflows. Deterministic: no Django, no I/O."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from maintenance.temporal.types import (
        HousekeepingInput,
        HousekeepingResult,
        NightlyBackupsInput,
        NightlyBackupsResult,
        PurgeInput,
        PurgeResult,
        SchedulesRepairInput,
        SchedulesRepairResult,
        TenantBackupInput,
        TenantBackupResult,
        TenantPage,
        TenantPageInput,
    )

PAGE_RETRY = RetryPolicy(maximum_attempts=5)
PURGE_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=5))
BACKUP_RETRY = RetryPolicy(maximum_attempts=3, non_retryable_error_types=["TenantNotFound"])
REPAIR_RETRY = RetryPolicy(maximum_attempts=3, maximum_interval=timedelta(minutes=1))


@workflow.defn(name="Housekeeping")
class HousekeepingWorkflow:
    """Purge every tenant's expired history, one activity per tenant, a page of tenants per run.

    Each tenant's workflow schedules are then repaired (`definition_schedules_sync`), so a
    schedule whose sync failed after its definition was saved is fixed by the next night at the
    latest. After each full page it continues as new, so the history stays small however many
    tenants there are. A tenant that keeps failing is reported and does not stop the others.
    """

    @workflow.run
    async def run(self, data: HousekeepingInput) -> HousekeepingResult:
        deleted, failed = dict(data.deleted), list(data.failed_tenant_ids)
        done, after, repaired = data.tenants_done, data.after_tenant_id, data.schedules_repaired
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
            # Histories recorded before the repair existed replay without it.
            if workflow.patched("housekeeping-schedules-repair"):
                try:
                    fixed = await workflow.execute_activity(
                        "maintenance_schedules_repair",
                        SchedulesRepairInput(tenant_id=tenant_id),
                        result_type=SchedulesRepairResult,
                        start_to_close_timeout=timedelta(minutes=5),
                        retry_policy=REPAIR_RETRY,
                    )
                except ActivityError:
                    workflow.logger.warning("schedule repair of tenant %s failed", tenant_id)
                    if tenant_id not in failed:
                        failed.append(tenant_id)
                else:
                    repaired += fixed.repaired
            done, after = done + 1, tenant_id
        if len(page.tenant_ids) >= data.page_size:
            workflow.continue_as_new(HousekeepingInput(after, data.page_size, done, deleted, failed, repaired))
        return HousekeepingResult(tenants=done, deleted=deleted, failed_tenant_ids=failed, schedules_repaired=repaired)


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

    One page of tenants per run: after a full page it continues as new, carrying only counts
    and the failed tenant ids, so the history stays small however many tenants there are. Child
    ids are business keys (`tenant-backup-{tenant_id}-{date}`, the date fixed by the first run),
    so each tenant's nightly archive is one findable run in the Temporal UI.
    """

    @workflow.run
    async def run(self, data: NightlyBackupsInput) -> NightlyBackupsResult:
        page_size = max(1, data.page_size)
        page = await workflow.execute_activity(
            "maintenance_tenant_page",
            TenantPageInput(after=data.after_tenant_id, limit=page_size, active_only=True),
            result_type=TenantPage,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=PAGE_RETRY,
        )
        day = data.day or workflow.now().strftime("%Y%m%d")
        archived, failed = data.archived, list(data.failed_tenant_ids)

        async def backup(tenant_id: int) -> bool:
            try:
                await workflow.execute_child_workflow(
                    "TenantBackup",
                    TenantBackupInput(tenant_id=tenant_id),
                    id=f"tenant-backup-{tenant_id}-{day}",
                    result_type=TenantBackupResult,
                )
            except (ChildWorkflowError, WorkflowAlreadyStartedError):  # failed, or still running from before
                failed.append(tenant_id)
                return False
            return True

        step = max(1, data.concurrency)
        for start in range(0, len(page.tenant_ids), step):
            batch = page.tenant_ids[start : start + step]
            archived += sum(await asyncio.gather(*(backup(tenant_id) for tenant_id in batch)))
        if len(page.tenant_ids) >= page_size:
            workflow.continue_as_new(
                NightlyBackupsInput(data.concurrency, page_size, page.tenant_ids[-1], day, archived, failed)
            )
        return NightlyBackupsResult(archived=archived, failed_tenant_ids=failed)
