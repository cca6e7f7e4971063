"""What the maintenance app runs on Temporal workers (found by mono.temporal.registry)."""

from maintenance.temporal import activities
from maintenance.temporal.workflows import (
    HousekeepingWorkflow,
    NightlyBackupsWorkflow,
    TenantBackupWorkflow,
)
from mono.temporal import queues
from mono.temporal.registry import register

register(
    queues.HOUSEKEEPING,
    workflows=[HousekeepingWorkflow, NightlyBackupsWorkflow, TenantBackupWorkflow],
    activities=activities.PLATFORM,
)
