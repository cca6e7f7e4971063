"""Checks and storage around the gateway's image and transcription calls (see `llm.services`).

Sizes and qualities an image model accepts are the keys of its price row, so what can be asked is
exactly what can be costed. Generated images become tenant media assets through the jobs app's
media service, so variants, download and retention apply as to any upload. Audio is recognised
from its bytes, never from the client's header.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.media import detect
from jobs.models import MediaAsset
from jobs.services import media as media_services
from llm.gateway import targets
from llm.route_parsing import Candidate
from mono.errors import ServiceError


def image_options(*, candidate: Candidate, tenant_id: int, size: str, quality: str) -> str:
    """The quality to ask for (unstated: the cheapest); a 400 naming `size` or `quality` the price row lacks."""
    config = targets.provider_config(candidate.provider, tenant_id)
    price = targets.price_of(config.kind, candidate.model)
    prices = price.image_prices if price else {}
    pairs = [key.split("/", 1) for key in prices]
    if not pairs:
        raise ServiceError({"model": f"{candidate} has no image prices; choose an image model such as dall-e-3"})
    sizes = sorted({s for s, _ in pairs})
    if size not in sizes:
        raise ServiceError({"size": f"{candidate.model} makes images of {', '.join(sizes)}, not {size!r}"})
    # Unstated, the quality is the cheapest the size comes in (JSON key order is not kept by the database).
    qualities = sorted((q for s, q in pairs if s == size), key=lambda q: (Decimal(str(prices[f"{size}/{q}"])), q))
    if not quality:
        return qualities[0]
    if quality not in qualities:
        raise ServiceError({"quality": f"{candidate.model} at {size} takes quality {', '.join(qualities)}"})
    return quality


def images_store(*, tenant, images: tuple[bytes, ...], actor=None) -> list[MediaAsset]:
    """Store each generated image as a tenant media asset (its variants follow on the image queue)."""
    return [
        media_services.media_upload(
            tenant=tenant, upload=SimpleUploadedFile(f"generated-{uuid.uuid4().hex[:12]}.png", data), actor=actor
        )
        for data in images
    ]


def audio_checked(*, data: bytes, field: str) -> str:
    """The audio's content type from its bytes; a 400 naming `field` if it is empty, too large or not audio."""
    if not data:
        raise ServiceError({field: "The file is empty."})
    if len(data) > settings.LLM_TRANSCRIPTION_MAX_BYTES:
        raise ServiceError({field: f"The audio is larger than {settings.LLM_TRANSCRIPTION_MAX_BYTES} bytes."})
    detected = detect.detect(data[: detect.HEAD_BYTES])
    if not detected.content_type.startswith("audio/"):
        raise ServiceError({field: f"The file is not audio (it is {detected.content_type})."})
    return detected.content_type


def asset_audio(*, tenant_id: int, asset_id: object, field: str = "media") -> tuple[bytes, str]:
    """The bytes and name of the tenant's asset `asset_id`; another tenant's is refused like a missing one."""
    asset = MediaAsset.objects.for_tenant(tenant_id).filter(pk=asset_id).first() if str(asset_id).isdigit() else None
    if asset is None:
        raise ServiceError({field: f"No media asset {asset_id} in this tenant."})
    if asset.size > settings.LLM_TRANSCRIPTION_MAX_BYTES:
        raise ServiceError({field: f"The audio is larger than {settings.LLM_TRANSCRIPTION_MAX_BYTES} bytes."})
    with asset.file.open("rb") as handle:
        return handle.read(), asset.original_name
