"""What the tenants app runs on Temporal workers (found by mono.temporal.registry)."""

from mono.temporal import queues
from mono.temporal.registry import register
from tenants.temporal.activities import platform_probe, tenant_probe
from tenants.temporal.workflows import PlatformProbeWorkflow, TenantProbeWorkflow

register(queues.WORKFLOWS, workflows=[TenantProbeWorkflow], activities=[tenant_probe])
register(queues.PLATFORM, workflows=[PlatformProbeWorkflow], activities=[platform_probe])
