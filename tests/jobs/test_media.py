"""Media uploads: type detection, size limits, image variants made by real workers, tenant isolation."""

import io

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from jobs.models import MediaAsset, MediaStatus, MediaVariant
from jobs.services import media
from mono.temporal import queues, sync
from mono.temporal.client import get_tenant_client
from tests.workflows.conftest import api_as, wait_until

RED, BLUE = (220, 20, 20), (20, 20, 220)


def jpeg_with_orientation(orientation: int = 6) -> bytes:
    """400x200, left half red, right half blue; EXIF says "rotate 90° clockwise to display"."""
    image = Image.new("RGB", (400, 200), BLUE)
    image.paste(RED, (0, 0, 200, 200))
    exif = image.getexif()
    exif[0x0112] = orientation
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "leaky-firmware 1.0"  # Software
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def png_with_alpha() -> bytes:
    image = Image.new("RGBA", (120, 60), (0, 128, 0, 0))  # fully transparent green
    image.paste((0, 128, 0, 255), (60, 0, 120, 60))  # right half opaque
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def upload(api, name: str, data: bytes, content_type: str = "application/octet-stream", **fields):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return api.post("/api/v1/media", {"file": file, **fields}, format="multipart")


def processed(asset_id: int) -> MediaAsset:
    return wait_until(
        lambda: MediaAsset.objects.filter(pk=asset_id, status__in=[MediaStatus.READY, MediaStatus.FAILED]).first(),
        timeout=30,
        what=f"media asset {asset_id} processed",
    )


def variant_image(asset: MediaAsset, name: str) -> Image.Image:
    variant = MediaVariant.objects.get(asset=asset, name=name)
    with default_storage.open(variant.file.name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


def test_jpeg_variants_are_upright_fitted_reencoded_and_without_exif(workers, acme, media_root):
    response = upload(api_as(acme, "erin"), "holiday.jpg", jpeg_with_orientation(), "image/jpeg")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["kind"], body["content_type"], body["status"]) == ("image", "image/jpeg", "pending")
    asset = processed(body["id"])
    assert asset.status == MediaStatus.READY, asset.error

    detail = api_as(acme, "vic").get(f"/api/v1/media/{asset.pk}").json()
    variants = {v["name"]: v for v in detail["variants"]}
    # Rotated to portrait (200x400), then fitted within 64 and 300 pixels.
    assert (variants["thumb"]["width"], variants["thumb"]["height"], variants["thumb"]["format"]) == (32, 64, "webp")
    assert (variants["medium"]["width"], variants["medium"]["height"], variants["medium"]["format"]) == (
        150,
        300,
        "jpeg",
    )

    for name, pillow_format in [("thumb", "WEBP"), ("medium", "JPEG")]:
        image = variant_image(asset, name)
        assert image.format == pillow_format
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info
        top, bottom = (
            image.convert("RGB").getpixel((image.width // 2, 2)),
            image.convert("RGB").getpixel((image.width // 2, image.height - 3)),
        )
        assert top[0] > 150 and top[2] < 100, f"{name}: the left (red) half should now be on top, got {top}"
        assert bottom[2] > 150 and bottom[0] < 100, f"{name}: blue should be at the bottom, got {bottom}"


def test_png_alpha_is_kept_in_webp_and_flattened_on_white_in_jpeg(workers, acme, media_root):
    body = upload(api_as(acme, "erin"), "logo.png", png_with_alpha(), "image/png").json()
    asset = processed(body["id"])
    assert asset.status == MediaStatus.READY, asset.error
    webp = variant_image(asset, "thumb")
    assert webp.mode == "RGBA"
    assert webp.getpixel((2, 2))[3] == 0  # transparent stays transparent
    assert webp.getpixel((webp.width - 3, 2))[3] == 255
    jpeg = variant_image(asset, "medium")
    assert jpeg.mode == "RGB"
    assert min(jpeg.getpixel((2, 2))) > 240  # transparent became white
    assert (jpeg.width, jpeg.height) == (120, 60)  # never enlarged


def test_corrupt_image_fails_with_a_reason_and_the_worker_goes_on(workers, acme, media_root):
    api = api_as(acme, "erin")
    broken = upload(api, "broken.jpg", jpeg_with_orientation()[:300] + b"\x00" * 50, "image/jpeg").json()
    failed = processed(broken["id"])
    assert failed.status == MediaStatus.FAILED
    assert "corrupt" in failed.error or "truncated" in failed.error
    assert not MediaVariant.objects.filter(asset=failed).exists()
    shown = api.get(f"/api/v1/media/{failed.pk}").json()
    assert (shown["status"], shown["error"]) == ("failed", failed.error)

    good = processed(upload(api, "fine.jpg", jpeg_with_orientation(1), "image/jpeg").json()["id"])
    assert good.status == MediaStatus.READY
    assert MediaVariant.objects.filter(asset=good).count() == 2


def test_image_over_the_pixel_limit_is_refused_as_a_decompression_bomb(workers, acme, media_root, settings):
    settings.MEDIA_MAX_IMAGE_PIXELS = 10_000
    body = upload(api_as(acme, "erin"), "big.png", png_with_alpha()).json()  # 7,200 px: fine
    assert processed(body["id"]).status == MediaStatus.READY
    image = io.BytesIO()
    Image.new("L", (1000, 1000)).save(image, "PNG")  # 1,000,000 px in a few kilobytes
    bomb = processed(upload(api_as(acme, "erin"), "bomb.png", image.getvalue()).json()["id"])
    assert bomb.status == MediaStatus.FAILED
    assert "too large" in bomb.error or "over the limit" in bomb.error


def test_type_comes_from_the_bytes_not_the_name_or_header(acme, media_root):
    api = api_as(acme, "erin")
    pdf = upload(api, "cat.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "image/png")
    assert pdf.status_code == 202  # a PDF's text is read in the background
    assert (pdf.json()["content_type"], pdf.json()["kind"], pdf.json()["status"]) == (
        "application/pdf",
        "document",
        "pending",
    )
    mp4 = upload(api, "notes.txt", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64, "text/plain")
    assert (mp4.json()["content_type"], mp4.json()["kind"]) == ("video/mp4", "video")
    blob = upload(api, "photo.jpg", bytes(range(256)) * 4, "image/jpeg")
    assert (blob.json()["content_type"], blob.json()["kind"]) == ("application/octet-stream", "other")
    assert MediaAsset.objects.filter(tenant=acme).count() == 3


def test_uploads_over_the_limits_are_413_naming_file_and_store_nothing(acme, media_root, settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 5_000
    settings.MEDIA_MAX_BYTES_BY_KIND = {**settings.MEDIA_MAX_BYTES_BY_KIND, "image": 1_000}
    api = api_as(acme, "erin")
    too_big = upload(api, "huge.bin", b"x" * 6_000)
    assert too_big.status_code == 413
    assert "file" in too_big.json()
    big_image = upload(api, "photo.png", png_with_alpha() + b"\x00" * 1_000, "image/png")
    assert big_image.status_code == 413
    assert "image" in big_image.json()["file"]
    assert upload(api, "doc.txt", b"hello " * 300, "text/plain").status_code == 202  # 1,800 bytes of text
    assert MediaAsset.objects.filter(tenant=acme).count() == 1
    assert sorted(p.name for p in media_root.rglob("*") if p.is_file()) == ["doc.txt"]


def test_bad_upload_input_is_400_naming_the_field(acme, media_root):
    api = api_as(acme, "erin")
    assert "file" in api.post("/api/v1/media", {}, format="multipart").json()
    assert "file" in upload(api, "empty.png", b"").json()
    unknown = upload(api, "a.png", png_with_alpha(), variants="thumb,poster")
    assert unknown.status_code == 400
    assert "poster" in unknown.json()["variants"]
    assert not MediaAsset.objects.exists()
    assert api_as(acme, "vic").post("/api/v1/media", {}, format="multipart").status_code == 403


def test_upload_runs_on_the_tenants_image_queue_named_by_the_legacy_key(workers, acme, media_root):
    assert queues.resolve("process-image") is queues.PROCESS_IMAGE
    body = upload(api_as(acme, "erin"), "q.jpg", jpeg_with_orientation(1), variants="thumb").json()
    processed(body["id"])

    async def describe():
        client = await get_tenant_client(acme.pk)
        return await client.get_workflow_handle(f"media-{body['id']}").describe()

    description = sync.run(describe)
    assert description.task_queue == f"tenant-{acme.pk}-process-image"
    assert description.namespace == f"mono-tenant-{acme.pk}"
    assert [v.name for v in MediaVariant.objects.filter(asset_id=body["id"])] == ["thumb"]


def test_processing_again_replaces_variants_without_duplicates(acme, media_root):
    asset = media.media_upload(
        tenant=acme, upload=SimpleUploadedFile("again.jpg", jpeg_with_orientation(1)), variants=["thumb", "medium"]
    )
    first = media.media_process(tenant_id=acme.pk, asset_id=asset.pk)
    files = sorted(MediaVariant.objects.filter(asset=asset).values_list("file", flat=True))
    second = media.media_process(tenant_id=acme.pk, asset_id=asset.pk)
    assert first.variants == second.variants == ["thumb", "medium"]
    assert sorted(MediaVariant.objects.filter(asset=asset).values_list("file", flat=True)) == files
    assert sum(1 for p in media_root.rglob("*") if p.is_file()) == 3  # original + two variants


def test_another_tenants_media_is_404_and_listing_shows_only_ones_own(workers, acme, globex, media_root):
    body = upload(api_as(acme, "erin"), "mine.jpg", jpeg_with_orientation(1)).json()
    processed(body["id"])
    outsider = api_as(globex, "gina")
    assert outsider.get(f"/api/v1/media/{body['id']}").status_code == 404
    assert outsider.get(f"/api/v1/media/{body['id']}/download").status_code == 404
    assert outsider.delete(f"/api/v1/media/{body['id']}").status_code == 404
    assert outsider.get("/api/v1/media").json()["results"] == []
    assert MediaAsset.objects.filter(pk=body["id"]).exists()
    assert api_as(acme, "vic").get(f"/api/v1/media/{body['id']}/download?variant=thumb").status_code == 200


def test_delete_removes_the_asset_its_variants_and_their_files(workers, acme, media_root):
    api = api_as(acme, "erin")
    body = upload(api, "gone.jpg", jpeg_with_orientation(1)).json()
    processed(body["id"])
    assert sum(1 for p in media_root.rglob("*") if p.is_file()) == 3
    assert api.delete(f"/api/v1/media/{body['id']}").status_code == 204
    assert api.get(f"/api/v1/media/{body['id']}").status_code == 404
    assert not MediaVariant.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def restored_copy(asset: MediaAsset, tenant) -> MediaAsset:
    """What a tenant restore makes: another tenant's rows pointing at the same file names."""
    copy = MediaAsset.objects.create(
        tenant=tenant,
        file=asset.file.name,
        original_name=asset.original_name,
        content_type=asset.content_type,
        size=asset.size,
        kind=asset.kind,
        status=asset.status,
        checksum=asset.checksum,
        variant_specs=asset.variant_specs,
    )
    for variant in asset.variants.all():
        MediaVariant.objects.create(
            tenant=tenant,
            asset=copy,
            name=variant.name,
            file=variant.file.name,
            width=variant.width,
            height=variant.height,
            format=variant.format,
            size=variant.size,
        )
    return copy


def test_delete_keeps_files_another_tenants_restored_copy_still_uses(acme, globex, media_root):
    asset = media.media_upload(
        tenant=acme, upload=SimpleUploadedFile("shared.jpg", jpeg_with_orientation(1)), variants=["thumb"]
    )
    media.media_process(tenant_id=acme.pk, asset_id=asset.pk)
    copy = restored_copy(asset, globex)
    files = sorted(p for p in media_root.rglob("*") if p.is_file())
    assert len(files) == 2  # original + thumb

    assert api_as(acme, "erin").delete(f"/api/v1/media/{asset.pk}").status_code == 204
    assert not MediaAsset.objects.filter(pk=asset.pk).exists()
    assert all(p.exists() for p in files)
    with default_storage.open(copy.variants.get().file.name, "rb") as handle:
        assert handle.read(4) == b"RIFF"  # globex's thumbnail still opens

    media.media_delete(asset=copy)
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_reprocessing_a_restored_copy_keeps_the_other_tenants_variant_files(acme, globex, media_root):
    asset = media.media_upload(
        tenant=acme, upload=SimpleUploadedFile("both.jpg", jpeg_with_orientation(1)), variants=["thumb", "medium"]
    )
    media.media_process(tenant_id=acme.pk, asset_id=asset.pk)
    copy = restored_copy(asset, globex)
    thumb_only = [spec for spec in asset.variant_specs if spec["name"] == "thumb"]
    MediaAsset.objects.filter(pk=copy.pk).update(variant_specs=thumb_only)  # the copy's "medium" is now stale
    media.media_process(tenant_id=globex.pk, asset_id=copy.pk)
    assert [v.name for v in MediaVariant.objects.filter(asset=copy)] == ["thumb"]
    for variant in MediaVariant.objects.filter(asset=asset):
        assert default_storage.exists(variant.file.name), variant.name
