"""Documents and video benchmark: the media pipeline's readers against the libraries called directly.

In process, no Django, over files generated here (same bytes for both sides, ABBA order):
1. Text extraction: a PDF of P pages (a few lines of real text each) through
   `jobs.media.documents.extract` (what the `media_process_document` activity calls: limits,
   budget, page texts) against a bare pypdfium2 loop (open, per page get_textpage +
   get_text_range). Figure: pages/s, and the ratio.
2. Thumbnails: the first page rendered and encoded as the 256 px WebP `thumb` (`documents._pdf_thumb`)
   against bare pypdfium2 render(scale) + Pillow WebP save, over P PDFs. Figure: thumbnails/s.
3. Transcode: a 10 s 1080p H.264/AAC clip through `jobs.media.video.transcode_web` (fit within
   720p, H.264 veryfast CRF 23, AAC, faststart, progress callback) against the same transcode
   written directly with PyAV (decode, reformat, encode, mux; same codec options). Figure: speed as
   a multiple of real time (10 s of video / wall seconds), and the ratio.

The machine may be shared: defaults are modest (P=30 pages, 2 rounds). `BENCH_QUICK=1` shrinks
everything to prove the script runs (3 s clip at 360p, 6 pages); its figures mean nothing.

Usage: `.venv/bin/python bench/media.py [--pages N] [--rounds N] [--seconds S]`
"""

import argparse
import io
import os
import sys
import tempfile
from fractions import Fraction

import av
import pypdfium2 as pdfium
from _harness import abba, exit_on_sigterm, sized
from PIL import Image

from jobs.media import documents, video
from jobs.media.images import VariantSpec

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.jobs import media_files

THUMB = VariantSpec("thumb", 256, "webp", 80)


def pdf_of(pages: int) -> bytes:
    lines = "The quick brown fox jumps over the lazy dog; invoice 1001, total 250 EUR. "
    return media_files.pdf_with_pages([f"{index}: {lines}" for index in range(pages)])


def bare_text(data: bytes) -> int:
    pdf = pdfium.PdfDocument(data)
    total = 0
    for index in range(len(pdf)):
        page = pdf[index]
        textpage = page.get_textpage()
        total += len(textpage.get_text_range())
        textpage.close()
        page.close()
    pdf.close()
    return total


def bare_thumb(data: bytes) -> bytes:
    pdf = pdfium.PdfDocument(data)
    page = pdf[0]
    width, height = page.get_size()
    image = page.render(scale=256 / max(width, height)).to_pil()
    page.close()
    pdf.close()
    out = io.BytesIO()
    image.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


def ours_thumb(data: bytes) -> bytes:
    pdf = pdfium.PdfDocument(data)
    try:
        return documents._pdf_thumb(pdf, THUMB).data
    finally:
        pdf.close()


def bare_transcode(source: str, target: str, width: int, height: int) -> None:
    with av.open(source) as inp, av.open(target, "w", format="mp4", options={"movflags": "+faststart"}) as out:
        in_video, in_audio = inp.streams.video[0], inp.streams.audio[0]
        in_video.thread_type = "AUTO"
        out_video = out.add_stream("libx264", rate=in_video.average_rate)
        out_video.width, out_video.height, out_video.pix_fmt = width, height, "yuv420p"
        out_video.options = {"preset": "veryfast", "crf": "23"}
        out_audio = out.add_stream("aac", rate=in_audio.codec_context.sample_rate)
        out_audio.layout = "stereo"
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=in_audio.codec_context.sample_rate)
        for packet in inp.demux(in_video, in_audio):
            for frame in packet.decode():
                if packet.stream.type == "video":
                    scaled = frame.reformat(width=width, height=height, format="yuv420p")
                    scaled.pts, scaled.time_base = frame.pts, frame.time_base
                    out.mux(out_video.encode(scaled))
                else:
                    for chunk in resampler.resample(frame):
                        chunk.pts = None
                        out.mux(out_audio.encode(chunk))
        out.mux(out_video.encode(None))
        out.mux(out_audio.encode(None))


def clip(path: str, seconds: float, width: int, height: int) -> None:
    """A moving gradient (so the encoder has real work) with a tone, 25 fps."""
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    data = media_files.mp4(seconds=0.04, width=16, height=16)  # warms the encoder libraries
    del data
    with av.open(path, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        sound = container.add_stream("aac", rate=44100)
        sound.layout = "mono"
        for index in range(int(seconds * 25)):
            frame = av.VideoFrame.from_image(base.rotate(index * 3))
            frame.pts, frame.time_base = index, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        for start in range(0, int(seconds * 44100), 1024):
            frame = av.AudioFrame(format="s16", layout="mono", samples=1024)
            frame.planes[0].update(media_files.AudioTone.samples(start, 1024))
            frame.sample_rate, frame.pts, frame.time_base = 44100, start, Fraction(1, 44100)
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=sized(30, 6))
    parser.add_argument("--rounds", type=int, default=sized(2, 1))
    parser.add_argument("--seconds", type=float, default=sized(10.0, 3.0))
    args = parser.parse_args()
    limits = documents.Limits()

    data = pdf_of(args.pages)
    print(f"1. text extraction, a {args.pages}-page PDF ({len(data)} bytes)")
    text = abba(
        lambda: bare_text(data),
        lambda: documents.extract(data, documents.PDF, limits=limits),
        rounds=args.rounds,
        label="text: ",
    )
    per_pass = min(text.candidate)
    print(
        f"   ours: {args.pages / per_pass:.0f} pages/s, bare pypdfium2: {args.pages / min(text.baseline):.0f} pages/s"
    )

    print(f"2. first-page thumbnails (256 px WebP), {args.pages} PDFs")
    thumbs = abba(
        lambda: [bare_thumb(data) for _ in range(args.pages)],
        lambda: [ours_thumb(data) for _ in range(args.pages)],
        rounds=args.rounds,
        label="thumb: ",
    )
    ours, bare = args.pages / min(thumbs.candidate), args.pages / min(thumbs.baseline)
    print(f"   ours: {ours:.1f} thumbnails/s, bare: {bare:.1f}/s")

    width, height = sized((1920, 1080), (640, 360))
    with tempfile.TemporaryDirectory(prefix="mono-bench-media-") as folder:
        source = os.path.join(folder, "source.mp4")
        clip(source, args.seconds, width, height)
        info = video.probe(source, limits=video.VideoLimits())
        out_width, out_height = video.fit(info.width, info.height)
        print(f"3. transcode a {args.seconds:g} s {width}x{height} clip to the {out_width}x{out_height} web variant")
        transcode = abba(
            lambda: bare_transcode(source, os.path.join(folder, "bare.mp4"), out_width, out_height),
            lambda: video.transcode_web(
                source, os.path.join(folder, "ours.mp4"), info=info, limits=video.VideoLimits(), progress=lambda s: None
            ),
            rounds=args.rounds,
            warmup=0,
            label="transcode: ",
        )
        print(
            f"   ours: {args.seconds / min(transcode.candidate):.2f}x real time,"
            f" bare PyAV: {args.seconds / min(transcode.baseline):.2f}x real time"
        )
    print("ratios (ours/bare throughput):")
    print(f"  text {text.ratio:.3f}, thumbnails {thumbs.ratio:.3f}, transcode {transcode.ratio:.3f}")


if __name__ == "__main__":
    main()
