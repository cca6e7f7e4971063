"""Media writes: store an upload, start its processing, make an image's variants, delete it.

Images are processed on the tenant's image queue (`tenant-{id}-process-image`, also reached by the
legacy name `process-image`); documents and videos on its media queue
(`tenant-{id}-process-media`, see `jobs.services.media_processing`), so long transcodes never
delay thumbnails. One workflow type, `media-{id}`, serves both.
"""

import hashlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from temporalio.service import RPCError, RPCStatusCode

from jobs.media import detect, documents, images
from jobs.models import MediaAsset, MediaKind, MediaStatus, MediaVariant, variant_path
from jobs.temporal.types import MediaInput, MediaResult
from jobs.temporal.workflows import MediaProcessWorkflow
from mono import starts
from mono.errors import Conflict, ServiceError
from mono.metrics import record_queue_job
from mono.temporal import queues, sync
from mono.temporal.client import get_tenant_client

# The seed's queue name; `queues.resolve` maps it to the tenant's own `tenant-{id}-process-image`.
IMAGE_QUEUE = "process-image"


def needs_processing(kind: str, content_type: str) -> bool:
    """Images (variants), videos (probe, poster, web) and documents whose text Mono can read."""
    if kind == MediaKind.DOCUMENT:
        return documents.extractable(content_type)
    return kind in (MediaKind.IMAGE, MediaKind.VIDEO)


def queue_for(kind: str) -> queues.Queue:
    return queues.resolve(IMAGE_QUEUE) if kind == MediaKind.IMAGE else queues.PROCESS_MEDIA


class PayloadTooLarge(ServiceError):
    status_code = 413


class MediaNotProcessable(Exception):
    """An asset that can never get variants (corrupt image, decompression bomb, missing file)."""


def variant_config(names: list[str] | None = None) -> list[dict]:
    """The configured variants, or the named subset of them (400 naming `variants` if unknown)."""
    configured = {item["name"]: item for item in settings.MEDIA_IMAGE_VARIANTS}
    if names is None:
        return list(configured.values())
    unknown = [name for name in names if name not in configured]
    if unknown:
        raise ServiceError(
            {"variants": f"Unknown variant(s) {', '.join(unknown)}; choose from {', '.join(configured)}."}
        )
    return [configured[name] for name in dict.fromkeys(names)]


def check_upload_size(size: int | None) -> None:
    """413 naming `file` when a request (by its declared length) is over the upload limit."""
    if size is not None and size > settings.MEDIA_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge({"file": f"The upload is larger than {settings.MEDIA_MAX_UPLOAD_BYTES} bytes."})


def _digest(upload: UploadedFile) -> tuple[bytes, str]:
    sha = hashlib.sha256()
    upload.seek(0)
    head = b""
    for chunk in upload.chunks():
        if len(head) < detect.HEAD_BYTES:
            head += chunk[: detect.HEAD_BYTES - len(head)]
        sha.update(chunk)
    upload.seek(0)
    return head, sha.hexdigest()


@transaction.atomic
def media_upload(*, tenant, upload: UploadedFile, variants: list[str] | None = None, actor=None) -> MediaAsset:
    """Store an upload as a `MediaAsset`; what it needs is made in the background after commit.

    The type comes from the bytes. Too large (overall or for its kind) is a 413 naming `file`;
    an empty file a 400. Images, videos and readable documents are `pending` until processed;
    other files are stored as they are (`ready`).
    """
    check_upload_size(upload.size)
    if not upload.size:
        raise ServiceError({"file": "The file is empty."})
    specs = variant_config(variants)
    head, checksum = _digest(upload)
    detected = detect.detect(head)
    limit = settings.MEDIA_MAX_BYTES_BY_KIND.get(detected.kind, settings.MEDIA_MAX_UPLOAD_BYTES)
    if upload.size > limit:
        raise PayloadTooLarge(
            {"file": f"A {detected.kind} file may be at most {limit} bytes ({detected.content_type})."}
        )
    is_image = detected.kind == MediaKind.IMAGE
    pending = needs_processing(detected.kind, detected.content_type)
    asset = MediaAsset(
        tenant=tenant,
        original_name=(upload.name or "upload")[:255],
        content_type=detected.content_type,
        size=upload.size,
        kind=detected.kind,
        status=MediaStatus.PENDING if pending else MediaStatus.READY,
        checksum=checksum,
        variant_specs=specs if is_image else [],
        uploaded_by=actor,
        processed_at=None if pending else timezone.now(),
        next_attempt_at=starts.owed_from() if pending else None,
    )
    asset.file.save(upload.name or "upload", upload, save=False)
    # The file is written before the row commits: if the transaction rolls back, the file is
    # unreferenced and the orphan cleanup removes it once it is older than its grace period.
    asset.full_clean()
    asset.save()
    if pending:
        starts.start_after_commit(kind=START_KIND, pk=asset.pk)
    return asset


# The relay's name for media starts; kept from when only images were processed.
START_KIND = "images"


def media_launch(asset: MediaAsset) -> None:
    """Start the asset's workflow (id `media-{id}`) on its kind's queue (`mono.starts` kind).

    The workflow reads no settings, so the time limit and heartbeat timeout travel in its input.
    """
    arg = MediaInput(
        asset.tenant_id,
        asset.pk,
        kind=asset.kind,
        time_limit_seconds=settings.MEDIA_MAX_PROCESS_SECONDS,
        heartbeat_seconds=settings.MEDIA_HEARTBEAT_SECONDS,
    )
    starts.start_workflow(
        tenant_id=asset.tenant_id,
        workflow=MediaProcessWorkflow.run,
        arg=arg,
        id=f"media-{asset.pk}",
        task_queue=queue_for(asset.kind).name(asset.tenant_id),
    )
    MediaAsset.objects.for_tenant(asset.tenant_id).filter(pk=asset.pk).update(queued_at=timezone.now())


@transaction.atomic
def media_process_again(*, asset: MediaAsset) -> None:
    """Process an asset again (variants, text): its start is owed once more and tried after commit."""
    MediaAsset.objects.for_tenant(asset.tenant_id).filter(pk=asset.pk).update(
        next_attempt_at=starts.owed_from(), attempts=0, error=""
    )
    starts.start_after_commit(kind=START_KIND, pk=asset.pk)


# An asset stays `pending` until its workflow processes it; one whose workflow never started is
# `failed` with the reason (it keeps its original).
MEDIA_MOVES = starts.StatusMoves(
    owed=MediaStatus.PENDING, started=MediaStatus.PENDING, failed=MediaStatus.FAILED, failed_at="processed_at"
)


def media_process(*, tenant_id: int, asset_id: int) -> MediaResult:
    """Make (or remake) every variant of an image asset; idempotent per (asset, variant name).

    Raises `MediaNotProcessable` for input that can never succeed; other errors are left to the
    caller's retries.
    """
    asset = MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id).first()
    if asset is None:  # deleted while queued: nothing to do
        return MediaResult(asset_id=asset_id, status="deleted")
    if asset.kind != MediaKind.IMAGE:
        return MediaResult(asset_id=asset_id, status=asset.status)
    MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id).update(status=MediaStatus.PROCESSING, error="")
    try:
        with asset.file.open("rb") as original:
            data = original.read()
    except FileNotFoundError:
        raise MediaNotProcessable("the uploaded file is missing from storage") from None
    try:
        specs = images.parse_specs(asset.variant_specs)
        rendered = images.render_variants(data, specs, max_pixels=settings.MEDIA_MAX_IMAGE_PIXELS)
    except (images.ImageProcessingError, ValueError, KeyError) as exc:
        raise MediaNotProcessable(str(exc)) from None
    names = []
    for variant in rendered:
        path = variant_path(tenant_id=tenant_id, asset_id=asset_id, name=variant.name, extension=variant.extension)
        # Same path every run: a retry replaces the file and updates the row, never adds one.
        default_storage.delete(path)
        saved = default_storage.save(path, ContentFile(variant.data))
        MediaVariant.objects.update_or_create(
            tenant_id=tenant_id,
            asset_id=asset_id,
            name=variant.name,
            defaults={
                "file": saved,
                "width": variant.width,
                "height": variant.height,
                "format": variant.format,
                "size": len(variant.data),
            },
        )
        names.append(variant.name)
    stale = MediaVariant.objects.for_tenant(tenant_id).filter(asset_id=asset_id).exclude(name__in=names)
    stale_files = list(stale.values_list("file", flat=True))
    stale.delete()
    _delete_unreferenced(stale_files)  # a restored asset's variants may be another tenant's files
    MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id).update(
        status=MediaStatus.READY, error="", processed_at=timezone.now()
    )
    record_queue_job(queue=queues.PROCESS_IMAGE.key, status="completed")
    return MediaResult(asset_id=asset_id, status=MediaStatus.READY, variants=names)


def media_cancel(*, asset: MediaAsset) -> None:
    """Ask Temporal to cancel the asset's processing; the workflow marks it `failed` ("cancelled on request").

    409 when there is nothing to cancel (already ready or failed).
    """
    if asset.status not in (MediaStatus.PENDING, MediaStatus.PROCESSING):
        raise Conflict(f"The asset is already {asset.status}.")

    async def cancel():
        client = await get_tenant_client(asset.tenant_id)
        await client.get_workflow_handle(f"media-{asset.pk}").cancel()

    try:
        sync.run(cancel)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        # Never started (the relay still owes it): give the start up here, nothing runs to stop.
        MediaAsset.objects.for_tenant(asset.tenant_id).filter(pk=asset.pk).update(next_attempt_at=None)
        media_mark_failed(tenant_id=asset.tenant_id, asset_id=asset.pk, error="cancelled on request")


def media_mark_failed(*, tenant_id: int, asset_id: int, error: str) -> None:
    """Record why an asset could not be processed (it keeps its original file)."""
    MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id).exclude(status=MediaStatus.READY).update(
        status=MediaStatus.FAILED, error=error[:2000], processed_at=timezone.now()
    )
    kind = MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id).values_list("kind", flat=True).first()
    record_queue_job(queue=queue_for(kind or MediaKind.IMAGE).key, status="failed")


@transaction.atomic
def media_delete(*, asset: MediaAsset) -> None:
    """Delete an asset, its variants and (after commit) those of their files no other row uses.

    A tenant restore makes rows in another tenant that point at the same file names, so a file is
    only removed once no asset or variant of any tenant references it.
    """
    names = [asset.file.name, *asset.variants.values_list("file", flat=True)]
    asset.delete()
    # Checked after commit: of two copies deleted at once, the later commit sees neither row.
    transaction.on_commit(lambda: _delete_unreferenced(names))


def _delete_unreferenced(names) -> None:
    """Delete those of these files that no asset or variant row of any tenant points to."""
    names = {name for name in names if name}
    used = set(MediaAsset.objects.filter(file__in=names).values_list("file", flat=True)) | set(
        MediaVariant.objects.filter(file__in=names).values_list("file", flat=True)
    )
    for name in sorted(names - used):
        default_storage.delete(name)
