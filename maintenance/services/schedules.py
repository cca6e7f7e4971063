"""The platform's own Temporal Schedules (platform namespace), kept in step by `sync_schedules`.

The create-or-update itself is generic and lives in `mono.temporal.schedules`.
"""

from django.conf import settings

from maintenance.temporal.types import HousekeepingInput, NightlyBackupsInput
from mono.temporal import queues, sync
from mono.temporal.client import get_platform_client
from mono.temporal.schedules import ScheduleDefinition, schedule_upsert


def platform_schedules() -> list[ScheduleDefinition]:
    """The platform's own schedules (platform namespace); crons come from the settings."""
    return [
        ScheduleDefinition(
            "mono-housekeeping",
            "Housekeeping",
            queues.HOUSEKEEPING.name(),
            settings.HOUSEKEEPING_CRON,
            arg=HousekeepingInput(),
            workflow_id="housekeeping",
        ),
        ScheduleDefinition(
            "mono-orphaned-media-cleanup",
            "OrphanedMediaCleanup",
            queues.CLEANUP_ORPHANED.name(),
            settings.ORPHANED_MEDIA_CLEANUP_CRON,
            workflow_id="orphaned-media-cleanup",
        ),
        ScheduleDefinition(
            "mono-tenant-backups",
            "NightlyBackups",
            queues.HOUSEKEEPING.name(),
            settings.TENANT_BACKUPS_CRON,
            arg=NightlyBackupsInput(),
            workflow_id="nightly-backups",
        ),
    ]


def platform_schedules_sync() -> list[tuple[str, str]]:
    """Create missing platform schedules, update changed ones, leave equal ones alone."""

    async def apply() -> list[tuple[str, str]]:
        client = await get_platform_client()
        return [(wanted.schedule_id, await schedule_upsert(client, wanted)) for wanted in platform_schedules()]

    return sync.run(apply, timeout=120)
