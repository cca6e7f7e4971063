"""Activities of the tenants app (sync, run on the worker's thread pool)."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from tenants.models import Tenant
from tenants.selectors import members_by_role
from tenants.temporal.types import (
    PlatformProbeInput,
    PlatformProbeResult,
    TenantProbeInput,
    TenantProbeResult,
)


@activity.defn(name="tenant_probe")
def tenant_probe(probe: TenantProbeInput) -> TenantProbeResult:
    """Read the tenant's own rows from the worker: proves the namespace, worker and DB line up."""
    tenant = Tenant.objects.filter(pk=probe.tenant_id).first()
    if tenant is None:
        raise ApplicationError(
            f"tenant {probe.tenant_id} does not exist",
            type="TenantNotFound",
            non_retryable=True,
        )
    return TenantProbeResult(
        tenant_id=tenant.pk,
        slug=tenant.slug,
        active=tenant.is_active,
        members_by_role=members_by_role(tenant_id=tenant.pk),
    )


@activity.defn(name="platform_probe")
def platform_probe(probe: PlatformProbeInput) -> PlatformProbeResult:
    """Count tenants from a platform worker: proves the platform namespace, worker and DB line up."""
    return PlatformProbeResult(
        active_tenants=Tenant.objects.filter(is_active=True).count(),
        total_tenants=Tenant.objects.count(),
    )
