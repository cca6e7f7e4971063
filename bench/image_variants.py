"""Image variants benchmark: how fast uploads become thumbnails, with a plain-Pillow baseline.

1. In process, no Django: N generated 3000x2000 JPEGs (a smooth gradient with noise, so the
   encoder has real work; each with an EXIF orientation tag) go through
   `jobs.media.images.render_variants`, the function the `media_process` activity calls, with the
   default variant configuration (`thumb` 256 px WebP, `medium` 1024 px JPEG). Three baselines run
   over the same bytes in the same rounds (ABBA order, so drift falls on all alike):
   - `baseline open+save`: plain Pillow, decode the full image and re-encode it as JPEG at full
     size (no resize): what "touching every pixel once" costs;
   - `naive variants`: the same two variants the obvious way (full decode, `exif_transpose`,
     `thumbnail` per variant), without the DCT-domain draft decode `render_variants` uses.
   Figures: images/s, variants/s and ms per image; ratios against the baseline.
2. End to end (unless `--no-e2e`): a fresh in-memory Temporal dev server from the virtualenv, a
   throwaway PostgreSQL database `mono_bench_media` (created, migrated, dropped), a tenant, and the
   project's `TemporalWorkerManager` hosting the tenant's image queue on a background thread, as
   `runworkers` would. N images are uploaded with `media_upload` (row, file in a temporary
   MEDIA_ROOT, workflow `media-{id}` started after commit) as fast as possible; the clock stops
   when every asset is `ready`. Shown: images/s and variants/s, and upload -> ready p50/p95.

Usage: `.venv/bin/python bench/image_variants.py [--images N] [--rounds N] [--no-e2e]`
(`BENCH_QUICK=1` makes the defaults 2 images and 1 round: a smoke run, not figures).
"""

import argparse
import io
import os
import random
import statistics
import tempfile
import time

from _harness import WorkerHost, abba_order, percentile, scratch_database, setup_django, sized, temporal_server
from PIL import Image, ImageFilter, ImageOps

from jobs.media import images

BENCH_DB = "mono_bench_media"
DEFAULT_VARIANTS = [
    {"name": "thumb", "max_size": 256, "format": "webp", "quality": 80},
    {"name": "medium", "max_size": 1024, "format": "jpeg", "quality": 85},
]
MAX_PIXELS = 50_000_000


def make_jpeg(seed: int, size=(3000, 2000)) -> bytes:
    """A photo-like JPEG: gradient plus noise, EXIF orientation 6 (shot in portrait)."""
    rng = random.Random(seed)
    gradient = Image.linear_gradient("L").resize(size)
    # Softened noise: texture like a photo's, compressing to about a megabyte like one.
    noise = Image.effect_noise(size, 30 + rng.random() * 10).filter(ImageFilter.GaussianBlur(1.5))
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    exif = image.getexif()
    exif[0x0112] = 6
    exif[0x010F] = "BenchCam"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def baseline_open_save(data: bytes) -> int:
    image = Image.open(io.BytesIO(data))
    image.load()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return 1


def naive_variants(data: bytes) -> int:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    for spec in DEFAULT_VARIANTS:
        copy = image.copy()
        copy.thumbnail((spec["max_size"], spec["max_size"]), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        copy.save(out, spec["format"].upper(), quality=spec["quality"])
    return len(DEFAULT_VARIANTS)


SPECS = images.parse_specs(DEFAULT_VARIANTS)


def project_variants(data: bytes) -> int:
    return len(images.render_variants(data, SPECS, max_pixels=MAX_PIXELS))


def part_one(count: int, rounds: int) -> dict[str, float]:
    print(f"1. In process: {count} JPEGs of 3000x2000 (EXIF orientation 6), {rounds} rounds in ABBA order")
    started = time.perf_counter()
    corpus = [make_jpeg(seed) for seed in range(count)]
    mean_kb = statistics.mean(len(d) for d in corpus) / 1024
    print(f"   corpus generated in {time.perf_counter() - started:.1f} s, mean {mean_kb:.0f} KiB per image")
    contenders = {
        "baseline open+save": baseline_open_save,
        "naive variants": naive_variants,
        "render_variants": project_variants,
    }
    for function in contenders.values():  # warm-up: codecs loaded, caches warm
        function(corpus[0])
    seconds = dict.fromkeys(contenders, 0.0)
    outputs = dict.fromkeys(contenders, 0)
    names = list(contenders)
    for name in abba_order(names, rounds):
        started = time.perf_counter()
        outputs[name] += sum(contenders[name](data) for data in corpus)
        seconds[name] += time.perf_counter() - started
    images_done = count * rounds
    base = images_done / seconds["baseline open+save"]
    for name in names:
        per_second = images_done / seconds[name]
        print(
            f"   {name:<20} {per_second:6.2f} images/s  {outputs[name] / seconds[name]:6.2f} outputs/s  "
            f"{1000 * seconds[name] / images_done:6.1f} ms/image  ({per_second / base:.2f}x baseline)"
        )
    speedup = seconds["naive variants"] / seconds["render_variants"]
    print(f"   render_variants vs naive variants: {speedup:.2f}x faster for the same two variants")
    return {name: images_done / seconds[name] for name in names}


# 2. End to end ---------------------------------------------------------------------------------


def part_two(count: int) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jobs.models import MediaAsset, MediaStatus, MediaVariant
    from jobs.services.media import media_upload
    from mono.temporal import queues, registry
    from tenants.services import tenant_create

    print(f"2. End to end: {count} uploads through media_upload -> workflow -> worker -> variants")
    tenant = tenant_create(name="Bench media", slug="bench-media")
    # Only the image queue: no other worker shares the CPU with the one being measured.
    image_queue = [r for r in registry.registrations() if r.queue is queues.PROCESS_IMAGE]
    host = WorkerHost(registrations=image_queue, refresh_seconds=5)
    host.start()
    try:
        corpus = [make_jpeg(1000 + i) for i in range(count)]
        # Warm-up: one image through the whole path (worker, sandbox, codecs).
        warm = media_upload(tenant=tenant, upload=SimpleUploadedFile("warm.jpg", corpus[0]))
        wait_ready([warm.pk], timeout=60)
        started = time.perf_counter()
        uploaded_at = {}
        for index, data in enumerate(corpus):
            asset = media_upload(tenant=tenant, upload=SimpleUploadedFile(f"photo-{index}.jpg", data))
            uploaded_at[asset.pk] = time.perf_counter()
        ready_at = wait_ready(list(uploaded_at), timeout=600)
        elapsed = time.perf_counter() - started
        failed = MediaAsset.objects.filter(pk__in=uploaded_at, status=MediaStatus.FAILED).count()
        variants = MediaVariant.objects.filter(asset_id__in=uploaded_at).count()
        latencies = [ready_at[pk] - uploaded_at[pk] for pk in uploaded_at]
        print(
            f"   {count / elapsed:.2f} images/s, {variants / elapsed:.2f} variants/s "
            f"({count} images, {variants} variants, {failed} failed, {elapsed:.1f} s wall); "
            f"upload -> ready p50 {percentile(latencies, 50):.2f} s, p95 {percentile(latencies, 95):.2f} s "
            f"(all uploaded at once, so this includes queueing)"
        )
    finally:
        host.stop()


def wait_ready(ids: list[int], timeout: float) -> dict[int, float]:
    from jobs.models import MediaAsset, MediaStatus

    done: dict[int, float] = {}
    deadline = time.perf_counter() + timeout
    while len(done) < len(ids):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {len(done)} of {len(ids)} assets were processed in {timeout:.0f} s")
        finished = MediaAsset.objects.filter(
            pk__in=[pk for pk in ids if pk not in done], status__in=[MediaStatus.READY, MediaStatus.FAILED]
        ).values_list("pk", flat=True)
        now = time.perf_counter()
        for pk in finished:
            done[pk] = now
        time.sleep(0.02)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=sized(12, 2))
    parser.add_argument("--rounds", type=int, default=sized(2, 1))
    parser.add_argument("--no-e2e", action="store_true")
    args = parser.parse_args()
    print(f"Pillow {Image.__version__}; {os.cpu_count()} CPUs")
    part_one(args.images, args.rounds)
    if args.no_e2e:
        return
    with (
        temporal_server() as server,
        scratch_database(BENCH_DB) as database,
        tempfile.TemporaryDirectory(prefix="mono-bench-media-") as media_root,
    ):
        setup_django(database, temporal_address=server.address, debug=True, conn_max_age="0", MEDIA_ROOT=media_root)
        from django.conf import settings

        settings.MEDIA_IMAGE_VARIANTS = DEFAULT_VARIANTS
        part_two(args.images)


if __name__ == "__main__":
    main()
