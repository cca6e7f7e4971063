"""Videos on real workers: probe, poster, web variant, hostile files, cancellation and a killed worker."""

import io
import signal
import threading
import time

import av
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from temporalio.client import WorkflowFailureError

from jobs.models import MediaStatus, MediaVariant
from jobs.services import media, media_processing
from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tenants.selectors import active_tenant_refs
from tests.jobs import media_files
from tests.jobs.test_media import processed, upload, variant_image
from tests.support.process import spawn_manage
from tests.workflows.conftest import api_as, wait_until


def _probe(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as container:
        video, audio = container.streams.video[0], container.streams.audio
        return {
            "codec": video.codec_context.name,
            "size": (video.codec_context.width, video.codec_context.height),
            "audio": audio[0].codec_context.name if audio else "",
            "seconds": round(float(container.duration / av.time_base)),
        }


def _web_bytes(asset_id: int) -> bytes:
    with default_storage.open(MediaVariant.objects.get(asset_id=asset_id, name="web").file.name, "rb") as handle:
        return handle.read()


def test_video_is_probed_and_gets_a_poster_and_a_faststart_web_variant(workers, acme, media_root):
    api = api_as(acme, "erin")
    response = upload(api, "clip.mov", media_files.mp4(seconds=2, width=320, height=240))
    assert response.status_code == 202, response.content
    asset = processed(response.json()["id"])
    assert asset.status == MediaStatus.READY, asset.error

    detail = api.get(f"/api/v1/media/{asset.pk}").json()
    assert detail["video"] == {
        "duration_seconds": 2.0,
        "width": 320,
        "height": 240,
        "codec": "h264",
        "audio_codec": "aac",
        "frame_rate": 25.0,
    }
    assert detail["document"] is None
    variants = {v["name"]: v for v in detail["variants"]}
    assert (variants["poster"]["format"], variants["web"]["format"]) == ("jpeg", "mp4")

    poster = variant_image(asset, "poster").convert("RGB")
    red = poster.getpixel((10, 10))[0]
    assert 15 < red < 40, f"the frame at 10% (red about 25) is the poster, got red={red}"

    web = _web_bytes(asset.pk)
    assert _probe(web) == {"codec": "h264", "size": (320, 240), "audio": "aac", "seconds": 2}
    assert web.find(b"moov") < web.find(b"mdat"), "faststart: the index comes before the media data"
    download = api.get(f"/api/v1/media/{asset.pk}/download?variant=web")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == web


def test_large_video_is_fitted_within_720p(acme, media_root):
    asset = media.media_upload(
        tenant=acme, upload=SimpleUploadedFile("big.mp4", media_files.mp4(seconds=0.4, width=1440, height=1080))
    )
    media_processing.media_process_video(tenant_id=acme.pk, asset_id=asset.pk)
    web = MediaVariant.objects.get(asset=asset, name="web")
    assert (web.width, web.height) == (960, 720)
    assert _probe(_web_bytes(asset.pk))["size"] == (960, 720)


def test_hostile_videos_fail_with_their_reason_quickly_and_the_worker_goes_on(workers, acme, media_root):
    api = api_as(acme, "erin")
    began = time.monotonic()
    ten_hours = processed(upload(api, "long.mp4", media_files.mp4_claiming(10 * 3600)).json()["id"])
    corrupt = processed(upload(api, "broken.mp4", media_files.corrupt_mp4()).json()["id"])
    assert ten_hours.status == MediaStatus.FAILED
    assert "over the limit of 3600 s" in ten_hours.error
    assert corrupt.status == MediaStatus.FAILED
    assert "corrupt or unreadable" in corrupt.error
    assert time.monotonic() - began < 30
    assert not MediaVariant.objects.filter(asset_id__in=[ten_hours.pk, corrupt.pk], name="web").exists()
    fine = processed(upload(api, "ok.mp4", media_files.mp4(seconds=1)).json()["id"])
    assert fine.status == MediaStatus.READY


def _files(media_root) -> list[str]:
    return sorted(p.name for p in media_root.rglob("*") if p.is_file())


def test_cancelling_a_transcode_stops_it_marks_the_asset_failed_and_leaves_no_partial_file(
    workers, acme, media_root, settings
):
    settings.MEDIA_HEARTBEAT_SECONDS = 2  # a cancellation reaches the activity with a heartbeat's answer
    api = api_as(acme, "erin")
    # Long enough that the transcode is still running when the cancellation arrives on a fast machine.
    body = upload(api, "long.mp4", media_files.mp4(seconds=150, width=640, height=360, audio=False)).json()
    wait_until(lambda: any(".partial-" in name for name in _files(media_root)), timeout=30, what="the transcode")
    assert api.post(f"/api/v1/media/{body['id']}/cancel").status_code == 202
    asset = processed(body["id"])
    assert (asset.status, asset.error) == (MediaStatus.FAILED, "cancelled on request")

    async def result():
        client = await get_tenant_client(acme.pk)
        try:
            await client.get_workflow_handle(f"media-{body['id']}").result()
        except WorkflowFailureError as exc:
            return type(exc.cause).__name__

    assert sync.run(result) == "CancelledError"
    assert not [name for name in _files(media_root) if ".partial-" in name or name == "web.mp4"]
    assert api.post(f"/api/v1/media/{body['id']}/cancel").status_code == 409


def test_a_worker_killed_mid_transcode_is_replaced_and_the_variant_is_whole(start_workers, acme, media_root, settings):
    settings.MEDIA_HEARTBEAT_SECONDS = 2
    child = spawn_manage("runworkers", MEDIA_ROOT=str(media_root))
    try:
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(child.stdout), daemon=True).start()
        wait_until(lambda: any(line.startswith("Hosting") for line in lines), timeout=60, what="child workers")
        body = upload(
            api_as(acme, "erin"), "long.mp4", media_files.mp4(seconds=30, width=640, height=360, audio=False)
        ).json()
        wait_until(lambda: any(".partial-" in name for name in _files(media_root)), timeout=60, what="the transcode")
        child.send_signal(signal.SIGKILL)  # no clean-up of any kind
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert any(".partial-" in name for name in _files(media_root))
    assert "web.mp4" not in _files(media_root)  # never a half-written variant under its real name

    start_workers(tenant_source=active_tenant_refs)
    asset = processed(body["id"])
    assert asset.status == MediaStatus.READY, asset.error
    assert not [name for name in _files(media_root) if ".partial-" in name]
    assert _probe(_web_bytes(asset.pk))["seconds"] == 30
