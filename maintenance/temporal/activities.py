"""Activities of the maintenance app (sync, run on the worker's thread pool)."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from maintenance.services import backups, housekeeping
from maintenance.temporal.types import (
    PurgeInput,
    PurgeResult,
    SchedulesRepairInput,
    SchedulesRepairResult,
    TenantBackupInput,
    TenantBackupResult,
    TenantPage,
    TenantPageInput,
)
from tenants.models import Tenant


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


@activity.defn(name="maintenance_schedules_repair")
def schedules_repair(data: SchedulesRepairInput) -> SchedulesRepairResult:
    """Create or update the tenant's missing or stale workflow schedules (idempotent)."""
    return SchedulesRepairResult(
        tenant_id=data.tenant_id, repaired=housekeeping.tenant_schedules_repair(tenant_id=data.tenant_id)
    )


PLATFORM = [tenant_page, purge_tenant, tenant_backup, schedules_repair]
