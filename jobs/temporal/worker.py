"""What the jobs app runs on Temporal workers (found by mono.temporal.registry)."""

from jobs.services.email import email_sends_per_second
from jobs.temporal import activities
from jobs.temporal.workflows import EmailCampaignWorkflow, MediaProcessWorkflow, OrphanedMediaCleanupWorkflow
from mono.temporal import queues
from mono.temporal.registry import register

register(queues.PROCESS_IMAGE, workflows=[MediaProcessWorkflow], activities=activities.IMAGE)
register(queues.PROCESS_MEDIA, workflows=[MediaProcessWorkflow], activities=activities.MEDIA)
register(
    queues.SEND_EMAIL,
    workflows=[EmailCampaignWorkflow],
    activities=activities.EMAIL,
    # Also paces mark-failed/finish (the limit is per queue): at most one per recipient/campaign, so only a little.
    activities_per_second=email_sends_per_second,
)
register(queues.CLEANUP_ORPHANED, workflows=[OrphanedMediaCleanupWorkflow], activities=activities.CLEANUP)
