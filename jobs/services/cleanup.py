"""Orphaned media cleanup: files under the media prefix that no asset or variant row points to."""

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from jobs.models import MEDIA_PREFIX, MediaAsset, MediaStatus, MediaVariant
from jobs.temporal.types import OrphanCleanupResult
from mono.metrics import record_queue_job
from mono.temporal import queues

logger = logging.getLogger(__name__)
# Files or assets checked between heartbeats (each check is a storage call).
HEARTBEAT_EVERY = 200


def _walk(storage, folder: str) -> Iterator[str]:
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for name in folders:
        yield from _walk(storage, f"{folder}/{name}")


def media_cleanup_orphaned(
    *, grace_hours: int = 24, dry_run: bool = False, heartbeat: Callable[[], None] = lambda: None
) -> OrphanCleanupResult:
    """Delete unreferenced media files older than `grace_hours` (an upload in flight is younger).

    Walks one tenant folder at a time (`media/<tenant id>/`) against that tenant's rows, so memory
    stays bounded by the largest tenant. Assets whose original file is gone are not deleted (their
    row is the only record of what was uploaded); they are marked `failed` with the reason, once
    they are older than the grace period too.
    """
    storage = default_storage
    cutoff = timezone.now() - timedelta(hours=grace_hours)
    scanned = deleted = referenced = young = deleted_bytes = 0
    try:
        tenant_folders, _ = storage.listdir(MEDIA_PREFIX)
    except FileNotFoundError:
        tenant_folders = []
    for tenant_folder in tenant_folders:
        prefix = f"{MEDIA_PREFIX}/{tenant_folder}"
        known = set(MediaAsset.objects.filter(file__startswith=f"{prefix}/").values_list("file", flat=True)) | set(
            MediaVariant.objects.filter(file__startswith=f"{prefix}/").values_list("file", flat=True)
        )
        for index, name in enumerate(_walk(storage, prefix)):
            scanned += 1
            if index % HEARTBEAT_EVERY == 0:
                heartbeat()
            if name in known:
                referenced += 1
                continue
            try:
                if storage.get_modified_time(name) > cutoff:
                    young += 1
                    continue
                size = storage.size(name)
                if not dry_run:
                    storage.delete(name)
            except FileNotFoundError:  # removed meanwhile (an asset deleted by its owner)
                continue
            deleted += 1
            deleted_bytes += size
    missing = 0
    old_assets = MediaAsset.objects.filter(created_at__lt=cutoff).exclude(
        Q(status=MediaStatus.FAILED) & Q(error__startswith="the original file is missing")
    )
    for index, asset in enumerate(old_assets.only("pk", "file").iterator(chunk_size=500)):
        if index % HEARTBEAT_EVERY == 0:
            heartbeat()
        if not storage.exists(asset.file.name):
            missing += 1
            if not dry_run:
                MediaAsset.objects.filter(pk=asset.pk).update(
                    status=MediaStatus.FAILED, error="the original file is missing from storage"
                )
    result = OrphanCleanupResult(
        scanned=scanned,
        deleted=deleted,
        kept_referenced=referenced,
        kept_young=young,
        missing_marked_failed=missing,
        deleted_bytes=deleted_bytes,
    )
    logger.info("orphaned media cleanup%s: %s", " (dry run)" if dry_run else "", result)
    record_queue_job(queue=queues.CLEANUP_ORPHANED.key, status="completed")
    return result
