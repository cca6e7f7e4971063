"""Documents and videos on the tenant's media queue: text, thumbnail, poster and web variant.

Called by the activities in `jobs.temporal.activities`. Each function is idempotent per asset:
a retry overwrites the same text row and the same variants. Input that can never succeed (a
corrupt file, a limit crossed) raises `MediaNotProcessable`; anything else is left to Temporal's
retries.

Variants are written to a partial file beside their final name and renamed into place
(`os.replace`, atomic on one filesystem), so a reader never sees half a file and a worker killed
mid-write leaves only a `.partial-…` file: the next attempt removes it, and the orphan cleanup
would too. Storages without local paths get the file in one `save` once it is complete.
"""

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.functions import Left
from django.utils import timezone
from PIL import Image

from jobs.media import documents, video
from jobs.media.images import VariantSpec, encode_variant
from jobs.models import MediaAsset, MediaKind, MediaStatus, MediaText, MediaVariant, variant_path
from jobs.services.media import MediaNotProcessable
from jobs.temporal.types import MediaResult
from mono.metrics import record_queue_job
from mono.temporal import queues

DOCUMENT_THUMB = VariantSpec("thumb", 256, "webp", 80)
VIDEO_POSTER = VariantSpec("poster", 1280, "jpeg", 85)
TEXT_PREVIEW_CHARS = 500
# Pages are joined with a form feed, the page break plain-text tools (pdftotext) use too.
PAGE_BREAK = "\f"
# PostgreSQL's tsvector holds at most 1 MB; the search index covers this much of each text.
SEARCH_CHARS = 500_000


def document_limits() -> documents.Limits:
    return documents.Limits(
        max_pages=settings.MEDIA_MAX_DOCUMENT_PAGES,
        max_chars=settings.MEDIA_MAX_DOCUMENT_CHARS,
        max_unpacked_bytes=settings.MEDIA_MAX_UNPACKED_BYTES,
        max_seconds=settings.MEDIA_MAX_PROCESS_SECONDS,
    )


def video_limits() -> video.VideoLimits:
    return video.VideoLimits(
        max_seconds=settings.MEDIA_MAX_VIDEO_SECONDS,
        max_pixels=settings.MEDIA_MAX_VIDEO_PIXELS,
        max_work_seconds=settings.MEDIA_MAX_PROCESS_SECONDS,
    )


def _claim(tenant_id: int, asset_id: int, kind: str) -> MediaAsset | None:
    asset = MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id, kind=kind).first()
    if asset is not None:
        MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id).update(status=MediaStatus.PROCESSING, error="")
    return asset


def _finish(tenant_id: int, asset_id: int, metadata: dict, variants: list[str]) -> MediaResult:
    MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id).update(
        status=MediaStatus.READY, error="", processed_at=timezone.now(), metadata=metadata
    )
    record_queue_job(queue=queues.PROCESS_MEDIA.key, status="completed")
    return MediaResult(asset_id=asset_id, status=MediaStatus.READY, variants=variants)


def media_process_document(*, tenant_id: int, asset_id: int, tick: Callable[[], None] | None = None) -> MediaResult:
    """Extract a document's text (per page) and, for a PDF, its first page as the `thumb` variant."""
    asset = _claim(tenant_id, asset_id, MediaKind.DOCUMENT)
    if asset is None:  # deleted while queued
        return MediaResult(asset_id=asset_id, status="deleted")
    try:
        with asset.file.open("rb") as original:
            data = original.read()
    except FileNotFoundError:
        raise MediaNotProcessable("the uploaded file is missing from storage") from None
    try:
        result = documents.extract(data, asset.content_type, limits=document_limits(), thumb=DOCUMENT_THUMB, tick=tick)
    except documents.DocumentError as exc:
        raise MediaNotProcessable(str(exc)) from None
    starts, position = [], 0
    for page_text in result.page_texts:
        starts.append(position)
        position += len(page_text) + len(PAGE_BREAK)
    text = PAGE_BREAK.join(result.page_texts)
    with transaction.atomic():
        MediaText.objects.update_or_create(
            asset_id=asset_id,
            defaults={"tenant_id": tenant_id, "text": text, "page_starts": starts, "truncated": result.truncated},
        )
        MediaText.objects.for_tenant(tenant_id).filter(asset_id=asset_id).update(
            search=SearchVector(Left("text", SEARCH_CHARS), config="simple")
        )
    variants = []
    if result.thumb is not None:
        _store_bytes(tenant_id, asset_id, result.thumb.name, result.thumb.extension, result.thumb.data)
        _variant_row(tenant_id, asset_id, result.thumb.name, result.thumb.extension,
                     result.thumb.width, result.thumb.height, result.thumb.format, len(result.thumb.data))  # fmt: skip
        variants.append(result.thumb.name)
    metadata = {
        "pages": result.pages,
        "text_preview": text.replace(PAGE_BREAK, "\n")[:TEXT_PREVIEW_CHARS],
        "characters": len(text),
        "truncated": result.truncated,
    }
    if result.language:
        metadata["language"] = result.language
    return _finish(tenant_id, asset_id, metadata, variants)


def media_process_video(
    *, tenant_id: int, asset_id: int, progress: Callable[[float], None] | None = None
) -> MediaResult:
    """Probe a video, then make its `poster` (JPEG at 10% of the duration) and `web` (H.264/AAC MP4) variants."""
    asset = _claim(tenant_id, asset_id, MediaKind.VIDEO)
    if asset is None:
        return MediaResult(asset_id=asset_id, status="deleted")
    limits = video_limits()
    try:
        with _local_path(asset) as source:
            info = video.probe(source, limits=limits)
            MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id).update(metadata={"video": info.as_dict()})
            frame = video.poster(source, info)
            frame.thumbnail((VIDEO_POSTER.max_size, VIDEO_POSTER.max_size), Image.Resampling.LANCZOS)
            poster = encode_variant(frame, VIDEO_POSTER)
            _store_bytes(tenant_id, asset_id, "poster", poster.extension, poster.data)
            _variant_row(tenant_id, asset_id, "poster", poster.extension, poster.width, poster.height, "jpeg",
                         len(poster.data))  # fmt: skip
            name = variant_path(tenant_id=tenant_id, asset_id=asset_id, name="web", extension="mp4")
            with _atomic_target(name) as target:
                width, height = video.transcode_web(source, target, info=info, limits=limits, progress=progress)
            _variant_row(tenant_id, asset_id, "web", "mp4", width, height, "mp4", default_storage.size(name))
    except FileNotFoundError:
        raise MediaNotProcessable("the uploaded file is missing from storage") from None
    except video.VideoError as exc:
        raise MediaNotProcessable(str(exc)) from None
    return _finish(tenant_id, asset_id, {"video": info.as_dict()}, ["poster", "web"])


def _variant_row(tenant_id, asset_id, name, extension, width, height, fmt, size) -> None:
    MediaVariant.objects.update_or_create(
        tenant_id=tenant_id,
        asset_id=asset_id,
        name=name,
        defaults={
            "file": variant_path(tenant_id=tenant_id, asset_id=asset_id, name=name, extension=extension),
            "width": width,
            "height": height,
            "format": fmt,
            "size": size,
        },
    )


def _store_bytes(tenant_id: int, asset_id: int, name: str, extension: str, data: bytes) -> None:
    path = variant_path(tenant_id=tenant_id, asset_id=asset_id, name=name, extension=extension)
    with _atomic_target(path) as target, open(target, "wb") as handle:
        handle.write(data)


def _has_paths() -> bool:
    try:
        default_storage.path("probe")
    except NotImplementedError:
        return False
    return True


@contextlib.contextmanager
def _atomic_target(name: str) -> Iterator[str]:
    """A local path to write the file `name` of the default storage to; it appears there whole or not at all."""
    if _has_paths():
        final = Path(default_storage.path(name))
        final.parent.mkdir(parents=True, exist_ok=True)
        for stale in final.parent.glob(f"{final.name}.partial-*"):  # left by a worker killed mid-write
            stale.unlink(missing_ok=True)
        partial = final.with_name(f"{final.name}.partial-{uuid.uuid4().hex}")
        try:
            yield str(partial)
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        return
    with tempfile.TemporaryDirectory(prefix="mono-media-") as folder:
        local = os.path.join(folder, Path(name).name)
        yield local
        default_storage.delete(name)
        with open(local, "rb") as handle:
            default_storage.save(name, File(handle))


@contextlib.contextmanager
def _local_path(asset: MediaAsset) -> Iterator[str]:
    """The original as a local file (FFmpeg reads files): the storage's own path, or a temporary copy."""
    if _has_paths():
        path = default_storage.path(asset.file.name)
        if not os.path.exists(path):
            raise FileNotFoundError(path)
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="mono-media-", suffix=Path(asset.file.name).suffix) as copy:
        with asset.file.open("rb") as original:
            shutil.copyfileobj(original, copy)
        copy.flush()
        yield copy.name
