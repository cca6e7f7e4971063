"""Text (per page where the format has pages) and a first-page thumbnail of documents.

Pure (no Django): the activity and the benchmark call `extract` with the original's bytes.

Libraries, chosen because each installs from PyPI with nothing else on the machine:
- PDF: pypdfium2 (Google's PDFium, the Chrome PDF engine, shipped inside the wheel) for page
  count, text per page and rendering the first page.
- DOCX, XLSX, PPTX: python-docx, openpyxl, python-pptx (pure Python over the Office Open XML zip).
- ODT, ODS, ODP: odfpy (pure Python). RTF: striprtf. Plain text: decoded as UTF-8.
- Office and OpenDocument files get no thumbnail: rendering them needs LibreOffice.
- Legacy binary Office files (.doc, .xls, .ppt), EPUB and PostScript are not extracted (no
  well-kept pure-Python reader); they stay stored as they are.

Limits are checked before the expensive work where the format allows (page count from the PDF
header and the zip directory before anything is parsed) and between pages otherwise, so a hostile
file fails with a reason within the time limit. A single page is bounded by the character limit
and, for rendering, by the thumbnail's fixed size.
"""

import io
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from jobs.media.images import RenderedVariant, VariantSpec, encode_variant

PDF = "application/pdf"
RTF = "application/rtf"
TEXT = "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
ZIPPED = frozenset({DOCX, XLSX, PPTX, ODT, ODS, ODP})


class DocumentError(Exception):
    """The document cannot be read, or breaks a limit; the message says which."""


@dataclass(frozen=True)
class Limits:
    max_pages: int = 2000
    max_chars: int = 5_000_000
    max_unpacked_bytes: int = 200 * 1024 * 1024
    max_seconds: float = 120.0


@dataclass
class ExtractedDocument:
    """`pages` is None for formats without fixed pages (a DOCX, an ODT, plain text): one text."""

    pages: int | None
    page_texts: list[str]
    language: str = ""
    truncated: bool = False
    thumb: RenderedVariant | None = None
    extra: dict = field(default_factory=dict)


class _Budget:
    """Counts characters and time while a document is read; raises when a limit is crossed."""

    def __init__(self, limits: Limits, tick: Callable[[], None] | None) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.chars = 0
        self.truncated = False
        self.tick = tick or (lambda: None)

    def check_time(self) -> None:
        self.tick()
        if time.monotonic() > self.deadline:
            raise DocumentError(f"reading the document took longer than the limit of {self.limits.max_seconds:g} s")

    def take(self, text: str) -> str:
        """The part of `text` still within the character limit (the rest is dropped, `truncated`)."""
        self.check_time()
        room = self.limits.max_chars - self.chars
        if len(text) > room:
            self.truncated = True
            text = text[: max(room, 0)]
        self.chars += len(text)
        return text


def extract(
    data: bytes,
    content_type: str,
    *,
    limits: Limits,
    thumb: VariantSpec | None = None,
    tick: Callable[[], None] | None = None,
) -> ExtractedDocument:
    """Text (and a first-page thumbnail for PDFs) of the document in `data`."""
    budget = _Budget(limits, tick)
    reader = READERS.get(content_type)
    if reader is None:
        raise DocumentError(f"no text extraction for {content_type}")
    if content_type in ZIPPED:
        _check_zip(data, limits)
    try:
        result = reader(data, budget, thumb)
    except DocumentError:
        raise
    except Exception as exc:  # each library has its own errors for corrupt input
        raise DocumentError(f"the document is corrupt or unreadable: {type(exc).__name__}: {exc}") from None
    result.truncated = budget.truncated
    return result


def extractable(content_type: str) -> bool:
    return content_type in READERS


def _check_zip(data: bytes, limits: Limits) -> None:
    """Refuse a zip bomb from its directory, before any member is inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DocumentError(f"the document is corrupt or unreadable: {exc}") from None
    if unpacked > limits.max_unpacked_bytes:
        raise DocumentError(
            f"the document unpacks to {unpacked} bytes, over the limit of {limits.max_unpacked_bytes}"
            " (a decompression bomb?)"
        )


# PDF ---------------------------------------------------------------------------------------------


def _pdf(data: bytes, budget: _Budget, thumb: VariantSpec | None) -> ExtractedDocument:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"the PDF is corrupt or unreadable: {exc}") from None
    try:
        count = len(pdf)
        if count > budget.limits.max_pages:
            raise DocumentError(f"the PDF has {count} pages, over the limit of {budget.limits.max_pages}")
        texts = []
        for index in range(count):
            budget.check_time()
            if budget.truncated:
                texts.append("")
                continue
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                texts.append(budget.take(textpage.get_text_range().replace("\r\n", "\n")))
                textpage.close()
            finally:
                page.close()
        rendered = _pdf_thumb(pdf, thumb) if thumb and count else None
        language = ""
        try:
            language = str(pdf.get_metadata_dict().get("Lang", "") or "")
        except pdfium.PdfiumError:
            pass
        return ExtractedDocument(pages=count, page_texts=texts, language=language, thumb=rendered)
    finally:
        pdf.close()


def _pdf_thumb(pdf, spec: VariantSpec) -> RenderedVariant:
    page = pdf[0]
    try:
        width, height = page.get_size()  # in points; a hostile size only changes the scale
        scale = spec.max_size / max(width, height, 1)
        bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
        image = bitmap.to_pil()
    finally:
        page.close()
    image.thumbnail((spec.max_size, spec.max_size), Image.Resampling.LANCZOS)
    return encode_variant(image, spec)


# Office Open XML ---------------------------------------------------------------------------------


def _docx(data: bytes, budget: _Budget, thumb) -> ExtractedDocument:
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [budget.take(paragraph.text) for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(budget.take("\t".join(cell.text for cell in row.cells)))
    language = document.core_properties.language or ""
    return ExtractedDocument(pages=None, page_texts=["\n".join(parts)], language=language)


def _xlsx(data: bytes, budget: _Budget, thumb) -> ExtractedDocument:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        if len(workbook.worksheets) > budget.limits.max_pages:
            raise DocumentError(f"the workbook has {len(workbook.worksheets)} sheets, over the page limit")
        sheets = []
        for sheet in workbook.worksheets:  # a sheet is a page
            rows = []
            for row in sheet.iter_rows(values_only=True):
                if budget.truncated:
                    break
                cells = ["" if value is None else str(value) for value in row]
                if any(cells):
                    rows.append(budget.take("\t".join(cells)))
            sheets.append("\n".join(rows))
    finally:
        workbook.close()
    return ExtractedDocument(pages=len(sheets), page_texts=sheets)


def _pptx(data: bytes, budget: _Budget, thumb) -> ExtractedDocument:
    import pptx

    presentation = pptx.Presentation(io.BytesIO(data))
    slides = list(presentation.slides)
    if len(slides) > budget.limits.max_pages:
        raise DocumentError(f"the presentation has {len(slides)} slides, over the page limit")
    texts = []
    for slide in slides:  # a slide is a page
        lines = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        texts.append(budget.take("\n".join(lines)))
    return ExtractedDocument(pages=len(texts), page_texts=texts)


# OpenDocument ------------------------------------------------------------------------------------


def _odf(data: bytes, budget: _Budget, thumb) -> ExtractedDocument:
    from odf import draw, opendocument, table, teletype, text

    document = opendocument.load(io.BytesIO(data))
    language = ""
    for element in document.meta.childNodes:
        if element.qname[1] == "language":
            language = str(element)
    containers = document.body.getElementsByType(draw.Page) or document.body.getElementsByType(table.Table)
    if containers:  # slides or sheets are pages
        if len(containers) > budget.limits.max_pages:
            raise DocumentError(f"the document has {len(containers)} pages, over the limit")
        texts = []
        for container in containers:
            paragraphs = container.getElementsByType(text.P)
            texts.append(budget.take("\n".join(teletype.extractText(p) for p in paragraphs)))
        return ExtractedDocument(pages=len(texts), page_texts=texts, language=language)
    parts = [budget.take(teletype.extractText(element)) for element in _paragraphs(document.text)]
    return ExtractedDocument(pages=None, page_texts=["\n".join(parts)], language=language)


def _paragraphs(node):
    """Headings and paragraphs in document order (getElementsByType would list all of one kind first)."""
    for child in node.childNodes:
        if getattr(child, "qname", (None, None))[1] in ("h", "p"):
            yield child
        elif child.childNodes:
            yield from _paragraphs(child)


# Plain text and RTF ------------------------------------------------------------------------------


def _text(data: bytes, budget: _Budget, thumb) -> ExtractedDocument:
    return ExtractedDocument(pages=None, page_texts=[budget.take(data.decode("utf-8", errors="replace"))])


def _rtf(data: bytes, budget: _Budget, thumb) -> ExtractedDocument:
    from striprtf.striprtf import rtf_to_text

    # RTF is 7-bit ASCII with escapes for everything else; latin-1 never fails to decode it.
    source = data[: budget.limits.max_chars * 4].decode("latin-1")
    return ExtractedDocument(pages=None, page_texts=[budget.take(rtf_to_text(source, errors="replace").strip())])


READERS: dict[str, Callable[[bytes, _Budget, VariantSpec | None], ExtractedDocument]] = {
    PDF: _pdf,
    DOCX: _docx,
    XLSX: _xlsx,
    PPTX: _pptx,
    ODT: _odf,
    ODS: _odf,
    ODP: _odf,
    RTF: _rtf,
    TEXT: _text,
}
