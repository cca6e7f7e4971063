"""Files the media tests make themselves: documents with known text, short videos, hostile files."""

import io
import math
import struct
import zipfile
from fractions import Fraction

import av
import docx
from fpdf import FPDF
from PIL import Image

PAGE_TEXTS = ["Invoice 1001 from Acme Tools", "Total due: 250 EUR", "Signed by Ada Lovelace"]


def pdf_with_pages(texts: list[str] = PAGE_TEXTS) -> bytes:
    """A PDF with one line of real (extractable) text per page."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    for text in texts:
        pdf.add_page()
        pdf.cell(text=text)
    return bytes(pdf.output())


def pdf_with_empty_pages(count: int) -> bytes:
    """A hand-written PDF of `count` blank pages (small on disk, however many pages it claims)."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>"]
    kids = " ".join(f"{3 + i} 0 R" for i in range(count))
    objects.append(f"<</Type/Pages/Kids[{kids}]/Count {count}>>".encode())
    objects += [b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>"] * count
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def corrupt_pdf() -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 20


def docx_with(paragraphs: list[str], language: str = "") -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if language:
        document.core_properties.language = language
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_bomb(unpacked_bytes: int) -> bytes:
    """A valid DOCX plus one member that inflates to `unpacked_bytes` of zeros (a zip bomb)."""
    out = io.BytesIO(docx_with(["innocent"]))
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/padding.bin", b"\0" * unpacked_bytes)
    return out.getvalue()


def mp4(seconds: float = 2.0, width: int = 320, height: int = 240, fps: int = 25, audio: bool = True) -> bytes:
    """An H.264/AAC MP4: frames fade from black to red (frame i has red = 255*i/n), a 440 Hz tone."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        sound = container.add_stream("aac", rate=44100) if audio else None
        if sound:
            sound.layout = "mono"
        frames = int(seconds * fps)
        for index in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", (width, height), (255 * index // frames, 0, 0)))
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if sound:
            chunk = 1024
            for start in range(0, int(seconds * 44100), chunk):
                samples = AudioTone.samples(start, chunk)
                frame = av.AudioFrame(format="s16", layout="mono", samples=chunk)
                frame.planes[0].update(samples)
                frame.sample_rate, frame.pts, frame.time_base = 44100, start, Fraction(1, 44100)
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
    return out.getvalue()


class AudioTone:
    @staticmethod
    def samples(start: int, count: int) -> bytes:
        return b"".join(
            struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * (start + i) / 44100))) for i in range(count)
        )


def mp4_claiming(seconds: int) -> bytes:
    """Two tiny frames, the second stamped `seconds` in: the header says the video lasts that long."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for pts in (0, seconds):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 64), (0, 0, 255)))
            frame.pts, frame.time_base = pts, Fraction(1, 1)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def corrupt_mp4() -> bytes:
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40
