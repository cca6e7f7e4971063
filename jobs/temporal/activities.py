"""Background-job activities (sync, on the worker's thread pool): fetch by id, call a service, return."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from jobs.services import cleanup, email, media, media_processing
from jobs.temporal.types import (
    CampaignFinish,
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


@activity.defn(name="media_process")
def media_process(data: MediaInput) -> MediaResult:
    try:
        return media.media_process(tenant_id=data.tenant_id, asset_id=data.asset_id)
    except media.MediaNotProcessable as exc:
        raise ApplicationError(str(exc), type="MediaNotProcessable", non_retryable=True) from exc


@activity.defn(name="media_process_document")
def media_process_document(data: MediaInput) -> MediaResult:
    """Text and thumbnail of a document; heartbeats between pages."""
    try:
        return media_processing.media_process_document(
            tenant_id=data.tenant_id, asset_id=data.asset_id, tick=lambda: activity.heartbeat()
        )
    except media.MediaNotProcessable as exc:
        raise ApplicationError(str(exc), type="MediaNotProcessable", non_retryable=True) from exc


@activity.defn(name="media_process_video")
def media_process_video(data: MediaInput) -> MediaResult:
    """Probe, poster and web variant of a video; heartbeats the seconds transcoded so far.

    A cancellation arrives with a heartbeat's answer and is raised in this thread (the SDK's
    default for sync activities); the partial output is removed on the way out.
    """
    try:
        return media_processing.media_process_video(
            tenant_id=data.tenant_id, asset_id=data.asset_id, progress=lambda seconds: activity.heartbeat(seconds)
        )
    except media.MediaNotProcessable as exc:
        raise ApplicationError(str(exc), type="MediaNotProcessable", non_retryable=True) from exc


@activity.defn(name="media_mark_failed")
def media_mark_failed(data: MediaFailure) -> None:
    media.media_mark_failed(tenant_id=data.tenant_id, asset_id=data.asset_id, error=data.error)


@activity.defn(name="email_send_delivery")
def email_send_delivery(data: DeliveryInput) -> DeliveryResult:
    try:
        status = email.email_delivery_send(
            tenant_id=data.tenant_id, delivery_id=data.delivery_id, attempt=activity.info().attempt
        )
    except email.PermanentDeliveryError as exc:
        raise ApplicationError(str(exc), type="PermanentDeliveryError", non_retryable=True) from exc
    return DeliveryResult(delivery_id=data.delivery_id, status=status)


@activity.defn(name="email_mark_delivery_failed")
def email_mark_delivery_failed(data: DeliveryFailure) -> None:
    email.email_delivery_mark_failed(tenant_id=data.tenant_id, delivery_id=data.delivery_id, error=data.error)


@activity.defn(name="email_campaign_finish")
def email_campaign_finish(data: CampaignFinish) -> CampaignSummary:
    return email.email_campaign_finish(tenant_id=data.tenant_id, campaign_id=data.campaign_id)


@activity.defn(name="media_cleanup_orphaned")
def media_cleanup_orphaned(data: OrphanCleanupInput) -> OrphanCleanupResult:
    """Platform activity: walks every tenant's media folder (so it carries no tenant id)."""
    return cleanup.media_cleanup_orphaned(
        grace_hours=data.grace_hours, dry_run=data.dry_run, heartbeat=activity.heartbeat
    )


IMAGE = [media_process, media_mark_failed]
MEDIA = [media_process_document, media_process_video, media_mark_failed]
EMAIL = [email_send_delivery, email_mark_delivery_failed, email_campaign_finish]
CLEANUP = [media_cleanup_orphaned]
