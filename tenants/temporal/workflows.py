"""Workflows of the tenants app. Deterministic: no Django, no I/O."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from tenants.temporal.types import (
        PlatformProbeInput,
        PlatformProbeResult,
        TenantProbeInput,
        TenantProbeResult,
    )


PROBE_RETRY = RetryPolicy(maximum_attempts=3, non_retryable_error_types=["TenantNotFound"])
PROBE_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="TenantProbe")
class TenantProbeWorkflow:
    """Round trip through a tenant's namespace, worker and database (`manage.py probe_tenant`)."""

    @workflow.run
    async def run(self, probe: TenantProbeInput) -> TenantProbeResult:
        return await workflow.execute_activity(
            "tenant_probe",
            probe,
            result_type=TenantProbeResult,
            start_to_close_timeout=PROBE_TIMEOUT,
            retry_policy=PROBE_RETRY,
        )


@workflow.defn(name="PlatformProbe")
class PlatformProbeWorkflow:
    """Round trip through the platform namespace, a platform worker and the database."""

    @workflow.run
    async def run(self, probe: PlatformProbeInput) -> PlatformProbeResult:
        return await workflow.execute_activity(
            "platform_probe",
            probe,
            result_type=PlatformProbeResult,
            start_to_close_timeout=PROBE_TIMEOUT,
            retry_policy=PROBE_RETRY,
        )
