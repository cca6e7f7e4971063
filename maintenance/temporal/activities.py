"""Activities of the maintenance app (sync, run on the worker's thread pool)."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from maintenance.services import backups, housekeeping
from maintenance.temporal.types import (
    PurgeInput,
    PurgeResult,
    ScheduledRunResult,
    ScheduledRunStart,
    TenantBackupInput,
    TenantBackupResult,
    TenantPage,
    TenantPageInput,
)
from tenants.models import Tenant
from workflows import schedules


@activity.defn(name="maintenance_tenant_page")
def tenant_page(page: TenantPageInput) -> TenantPage:
    """A page of tenant ids, in id order (platform activity)."""
    return TenantPage(housekeeping.tenant_ids_page(after=page.after, limit=page.limit, active_only=page.active_only))


@activity.defn(name="maintenance_purge_tenant")
def purge_tenant(data: PurgeInput) -> PurgeResult:
    """Delete one tenant's expired history; heartbeats after every batch."""
    deleted = housekeeping.tenant_purge_expired(tenant_id=data.tenant_id, on_batch=activity.heartbeat)
    return PurgeResult(tenant_id=data.tenant_id, deleted=deleted)


@activity.defn(name="maintenance_tenant_backup")
def tenant_backup(data: TenantBackupInput) -> TenantBackupResult:
    """Write one tenant's archive to the backups storage."""
    tenant = Tenant.objects.filter(pk=data.tenant_id).first()
    if tenant is None:
        raise ApplicationError(f"tenant {data.tenant_id} does not exist", type="TenantNotFound", non_retryable=True)
    result = backups.tenant_backup(tenant=tenant, stamp=data.stamp or None)
    return TenantBackupResult(tenant_id=tenant.pk, path=result.path, sha256=result.sha256, counts=result.counts)


@activity.defn(name="scheduled_run_start")
def scheduled_run_start(data: ScheduledRunStart) -> ScheduledRunResult:
    """Record and start the run one schedule fire asks for (once per scheduled time)."""
    try:
        execution, created = schedules.scheduled_execution_start(
            tenant_id=data.tenant_id,
            definition_id=data.definition_id,
            schedule_id=data.schedule_id,
            scheduled_at=data.scheduled_at,
        )
    except schedules.ScheduleTargetGone as exc:
        raise ApplicationError(str(exc), type="ScheduleTargetGone", non_retryable=True) from exc
    return ScheduledRunResult(execution_id=execution.pk, created=created)


PLATFORM = [tenant_page, purge_tenant, tenant_backup]
TENANT = [scheduled_run_start]
