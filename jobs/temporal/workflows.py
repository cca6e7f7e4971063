"""Background-job workflows: image variants, e-mail sends, orphaned media cleanup.

Django-free and deterministic: they only orchestrate the activities in `activities.py` by name.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from jobs.temporal.types import (
        CampaignFinish,
        CampaignInput,
        CampaignSummary,
        DeliveryFailure,
        DeliveryInput,
        DeliveryResult,
        MediaFailure,
        MediaInput,
        MediaResult,
        OrphanCleanupInput,
        OrphanCleanupResult,
    )

QUICK = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=10),
}
# Decoding and re-encoding a large image takes seconds; a crash or storage hiccup is retried.
PROCESS = {
    "start_to_close_timeout": timedelta(minutes=5),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2, maximum_attempts=3),
}
# Temporary SMTP failures (4xx, connection refused) are retried with backoff; permanent ones
# (5xx, invalid address, template error) are non-retryable and fail that recipient at once.
# EMAIL_TIMEOUT (30 s) bounds each SMTP step well under start_to_close; an attempt started while an
# earlier one is still sending waits for it on the delivery's row lock, so the two never both send.
SEND = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=6,
    ),
}
CLEANUP = {
    "start_to_close_timeout": timedelta(hours=1),
    "heartbeat_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=30), maximum_attempts=3),
}


def _reason(error: ActivityError) -> str:
    cause = error.cause
    return getattr(cause, "message", None) or str(cause or error)


@workflow.defn(name="MediaProcessWorkflow")
class MediaProcessWorkflow:
    """Make the configured variants of one uploaded image (id `media-{asset_id}`)."""

    @workflow.run
    async def run(self, data: MediaInput) -> MediaResult:
        try:
            return await workflow.execute_activity("media_process", data, result_type=MediaResult, **PROCESS)
        except ActivityError as exc:
            reason = _reason(exc)
            await workflow.execute_activity(
                "media_mark_failed", MediaFailure(data.tenant_id, data.asset_id, reason), **QUICK
            )
            raise ApplicationError(reason, type="MediaProcessingFailed", non_retryable=True) from exc


# Sends waiting for a worker slot; the pace itself is the e-mail queue's server-side rate limit.
MAX_SENDS_IN_FLIGHT = 20


@workflow.defn(name="EmailCampaignWorkflow")
class EmailCampaignWorkflow:
    """Send every delivery of a campaign (id `email-campaign-{id}`).

    The tenant's e-mail queue is rate limited by the server (`EMAIL_RATE_PER_MINUTE`, across every
    campaign and worker of the tenant), so the workflow only bounds how many sends it has scheduled
    at once. Each recipient succeeds or fails on its own; the campaign's counts and status are
    written once every recipient has an outcome.
    """

    @workflow.run
    async def run(self, data: CampaignInput) -> CampaignSummary:
        in_flight = asyncio.Semaphore(MAX_SENDS_IN_FLIGHT)

        async def deliver(delivery_id: int) -> None:
            async with in_flight:
                try:
                    await workflow.execute_activity(
                        "email_send_delivery",
                        DeliveryInput(data.tenant_id, delivery_id),
                        result_type=DeliveryResult,
                        **SEND,
                    )
                except ActivityError as exc:
                    failure = DeliveryFailure(data.tenant_id, delivery_id, _reason(exc))
                    await workflow.execute_activity("email_mark_delivery_failed", failure, **QUICK)

        await asyncio.gather(*(deliver(delivery_id) for delivery_id in data.delivery_ids))
        return await workflow.execute_activity(
            "email_campaign_finish",
            CampaignFinish(data.tenant_id, data.campaign_id),
            result_type=CampaignSummary,
            **QUICK,
        )


@workflow.defn(name="OrphanedMediaCleanup")
class OrphanedMediaCleanupWorkflow:
    """Remove media files no row points to, older than the grace period (platform namespace)."""

    @workflow.run
    async def run(self, data: OrphanCleanupInput | None = None) -> OrphanCleanupResult:
        return await workflow.execute_activity(
            "media_cleanup_orphaned",
            data or OrphanCleanupInput(),
            result_type=OrphanCleanupResult,
            **CLEANUP,
        )
