"""Background-job workflows: media processing, e-mail sends, orphaned media cleanup.

Django-free and deterministic: they only orchestrate the activities in `activities.py` by name.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType

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
# Reading a document or transcoding a video: the step's own time limit (checked between pages and
# frames) comes first; start_to_close is a backstop a minute later. Heartbeats find a dead worker
# within `heartbeat_seconds`, and the step then starts again from the beginning on another one (its
# half-written variant was never visible, see media_processing). A cancelled run waits for the
# activity to clean up before it marks the asset failed.
MEDIA_ACTIVITIES = {"document": "media_process_document", "video": "media_process_video"}


def _long_step(data: MediaInput) -> dict:
    return {
        "start_to_close_timeout": timedelta(seconds=data.time_limit_seconds + 60),
        "heartbeat_timeout": timedelta(seconds=data.heartbeat_seconds),
        "cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=2),
            backoff_coefficient=2,
            maximum_attempts=3,
            non_retryable_error_types=["MediaNotProcessable"],
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
    """Process one uploaded asset (id `media-{asset_id}`): an image's variants on the image queue,
    a document's text or a video's poster and web variant on the media queue. Cancelling the run
    stops the work and marks the asset failed."""

    @workflow.run
    async def run(self, data: MediaInput) -> MediaResult:
        try:
            if data.kind in MEDIA_ACTIVITIES:
                return await workflow.execute_activity(
                    MEDIA_ACTIVITIES[data.kind], data, result_type=MediaResult, **_long_step(data)
                )
            return await workflow.execute_activity("media_process", data, result_type=MediaResult, **PROCESS)
        except asyncio.CancelledError:
            await self._mark_failed(data, "cancelled on request")
            raise
        except ActivityError as exc:
            if isinstance(exc.cause, CancelledError):  # the activity stopped for a cancellation
                await self._mark_failed(data, "cancelled on request")
                raise  # the run ends cancelled, not failed
            reason = _reason(exc)
            await self._mark_failed(data, reason)
            raise ApplicationError(reason, type="MediaProcessingFailed", non_retryable=True) from exc

    async def _mark_failed(self, data: MediaInput, reason: str) -> None:
        await workflow.execute_activity(
            "media_mark_failed", MediaFailure(data.tenant_id, data.asset_id, reason), **QUICK
        )


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
