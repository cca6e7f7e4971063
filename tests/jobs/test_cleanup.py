"""Orphaned media cleanup in the platform namespace, run by a real worker as a Schedule would."""

import os
import time
import uuid
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from jobs.models import MediaAsset, MediaKind, MediaStatus
from jobs.services import cleanup, media
from jobs.temporal.types import OrphanCleanupInput, OrphanCleanupResult
from jobs.temporal.workflows import OrphanedMediaCleanupWorkflow
from mono.temporal import queues, sync
from mono.temporal.client import get_platform_client

HOUR = 3600


def write(root, relative: str, age_hours: float, data: bytes = b"orphan") -> str:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = time.time() - age_hours * HOUR
    os.utime(path, (stamp, stamp))
    return relative


def run_cleanup(*args) -> OrphanCleanupResult:
    async def run():
        client = await get_platform_client()
        return await client.execute_workflow(
            "OrphanedMediaCleanup",
            *args,
            id=f"test-orphaned-media-cleanup-{uuid.uuid4().hex}",
            task_queue=queues.CLEANUP_ORPHANED.name(),
            result_type=OrphanCleanupResult,
        )

    return sync.run(run, timeout=60)


def test_cleanup_removes_old_orphans_and_keeps_referenced_and_young_files(workers, acme, media_root):
    asset = media.media_upload(tenant=acme, upload=SimpleUploadedFile("keep.txt", b"referenced file"))
    referenced = media_root / asset.file.name
    old = time.time() - 48 * HOUR
    os.utime(referenced, (old, old))
    orphan = write(media_root, f"media/{acme.pk}/deadbeef/left-behind.jpg", age_hours=30, data=b"12345")
    orphan_variant = write(media_root, f"media/{acme.pk}/variants/999/thumb.webp", age_hours=30)
    young = write(media_root, f"media/{acme.pk}/cafebabe/uploading.jpg", age_hours=0.5)
    foreign = write(media_root, "backups/acme.tar.gz", age_hours=500)  # not this app's: never touched

    result = run_cleanup(OrphanCleanupInput(grace_hours=24))

    assert not (media_root / orphan).exists()
    assert not (media_root / orphan_variant).exists()
    assert referenced.exists()
    assert (media_root / young).exists()
    assert (media_root / foreign).exists()
    assert (result.deleted, result.kept_referenced, result.kept_young, result.scanned) == (2, 1, 1, 4)
    assert result.deleted_bytes == 5 + len(b"orphan")


def test_cleanup_started_without_an_argument_uses_the_defaults(workers, acme, media_root):
    assert OrphanedMediaCleanupWorkflow.__temporal_workflow_definition.name == "OrphanedMediaCleanup"
    twelve_hours = write(media_root, f"media/{acme.pk}/0a0a/half-a-day.png", age_hours=12)
    two_days = write(media_root, f"media/{acme.pk}/0b0b/two-days.png", age_hours=48)
    result = run_cleanup()  # what a Temporal Schedule with no arguments does
    assert (media_root / twelve_hours).exists()  # within the default 24 h grace
    assert not (media_root / two_days).exists()
    assert result.deleted == 1


def test_dry_run_deletes_nothing_and_old_assets_without_a_file_are_marked_failed(workers, acme, media_root):
    # Not a readable document: stored `ready` at once, with no processing to race the cleanup.
    asset = media.media_upload(tenant=acme, upload=SimpleUploadedFile("lost.bin", bytes(range(256)) * 4))
    (media_root / asset.file.name).unlink()
    MediaAsset.objects.filter(pk=asset.pk).update(created_at=asset.created_at.replace(year=asset.created_at.year - 1))
    orphan = write(media_root, f"media/{acme.pk}/0c0c/old.bin", age_hours=100)

    dry = run_cleanup(OrphanCleanupInput(grace_hours=1, dry_run=True))
    assert (dry.deleted, dry.missing_marked_failed) == (1, 1)
    assert (media_root / orphan).exists()
    assert MediaAsset.objects.get(pk=asset.pk).status == MediaStatus.READY

    real = run_cleanup(OrphanCleanupInput(grace_hours=1))
    assert not (media_root / orphan).exists()
    assert real.missing_marked_failed == 1
    lost = MediaAsset.objects.get(pk=asset.pk)
    assert (lost.status, lost.error) == (MediaStatus.FAILED, "the original file is missing from storage")


def test_the_missing_file_pass_heartbeats_while_it_checks_many_assets(acme, media_root):
    # No file under the media folder at all: only the pass over old assets can heartbeat.
    MediaAsset.objects.bulk_create(
        MediaAsset(
            tenant=acme,
            file=f"media/{acme.pk}/{i:04x}/gone.txt",
            original_name="gone.txt",
            content_type="text/plain",
            size=1,
            kind=MediaKind.OTHER,
            status=MediaStatus.READY,
            checksum="0" * 64,
        )
        for i in range(2 * cleanup.HEARTBEAT_EVERY + 1)
    )
    MediaAsset.objects.update(created_at=timezone.now() - timedelta(days=2))
    beats = []
    result = cleanup.media_cleanup_orphaned(grace_hours=24, heartbeat=lambda: beats.append(1))
    assert result.missing_marked_failed == 2 * cleanup.HEARTBEAT_EVERY + 1
    assert len(beats) == 3  # at the first asset and after every HEARTBEAT_EVERY more
