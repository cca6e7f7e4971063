"""Documents on real workers: text per page, a PDF's thumbnail, search, the text endpoint, hostile files."""

import io
import time

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from odf.opendocument import OpenDocumentText
from odf.text import P
from PIL import Image

from jobs.models import MediaAsset, MediaStatus, MediaText, MediaVariant
from jobs.services import media, media_processing
from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tests.jobs import media_files
from tests.jobs.test_media import processed, upload, variant_image
from tests.workflows.conftest import api_as


def test_pdf_gets_text_per_page_a_thumbnail_and_is_found_by_its_words(workers, acme, globex, media_root):
    api = api_as(acme, "erin")
    response = upload(api, "invoice.pdf", media_files.pdf_with_pages(), "application/pdf")
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "document"
    assert response.json()["status"] in ("pending", "processing")  # the worker may have begun already
    asset = processed(response.json()["id"])
    assert asset.status == MediaStatus.READY, asset.error

    detail = api.get(f"/api/v1/media/{asset.pk}").json()
    assert detail["document"]["pages"] == 3
    assert detail["document"]["text_preview"].startswith("Invoice 1001 from Acme Tools\nTotal due: 250 EUR")
    assert detail["video"] is None
    thumb = variant_image(asset, "thumb")
    assert thumb.format == "WEBP" and max(thumb.size) == 256
    assert thumb.convert("RGB").getpixel((thumb.width // 2, thumb.height - 5)) == (255, 255, 255)  # a white page

    whole = api.get(f"/api/v1/media/{asset.pk}/text")
    assert whole["Content-Type"].startswith("text/plain")
    assert whole.content.decode().split("\f") == media_files.PAGE_TEXTS
    assert (whole["X-Pages"], whole["X-Truncated"]) == ("3", "false")
    assert api.get(f"/api/v1/media/{asset.pk}/text?page=2").content.decode() == "Total due: 250 EUR"
    assert api.get(f"/api/v1/media/{asset.pk}/text?page=3&offset=10&limit=3").content.decode() == "Ada"

    def found(client, q):
        return [item["id"] for item in client.get("/api/v1/media", {"q": q}).json()["results"]]

    assert found(api, "lovelace") == [asset.pk]
    assert found(api, '"total due" 250') == [asset.pk]
    assert found(api, "invoice.pdf") == [asset.pk]  # the file name matches too
    assert found(api, "babbage") == []
    outsider = api_as(globex, "gina")
    assert found(outsider, "lovelace") == []
    assert outsider.get(f"/api/v1/media/{asset.pk}/text").status_code == 404

    async def queue():
        client = await get_tenant_client(acme.pk)
        return (await client.get_workflow_handle(f"media-{asset.pk}").describe()).task_queue

    assert sync.run(queue) == f"tenant-{acme.pk}-process-media"


def test_docx_text_and_declared_language(workers, acme, media_root):
    api = api_as(acme, "erin")
    data = media_files.docx_with(["Lease agreement", "Between Ada and Bob, from 1 May."], language="en-GB")
    asset = processed(upload(api, "lease.docx", data).json()["id"])
    assert asset.status == MediaStatus.READY, asset.error
    document = api.get(f"/api/v1/media/{asset.pk}").json()["document"]
    assert document == {
        "pages": None,
        "text_preview": "Lease agreement\nBetween Ada and Bob, from 1 May.",
        "characters": 48,
        "truncated": False,
        "language": "en-GB",
    }
    assert not MediaVariant.objects.filter(asset=asset).exists()  # Office files get no thumbnail
    assert api.get(f"/api/v1/media/{asset.pk}/text?page=1").content.decode().startswith("Lease agreement")


def _xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["sku", "price"])
    workbook.active.append(["A-1", 9.5])
    workbook.create_sheet("Notes").append(["paid in full"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _odt() -> bytes:
    document = OpenDocumentText()
    document.text.addElement(P(text="Minutes of the meeting"))
    document.text.addElement(P(text="Nothing was decided."))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def test_spreadsheets_opendocument_rtf_and_plain_text_are_read(acme, media_root):
    cases = {
        "prices.xlsx": (_xlsx(), ["sku\tprice\nA-1\t9.5", "paid in full"]),
        "minutes.odt": (_odt(), ["Minutes of the meeting\nNothing was decided."]),
        "memo.rtf": (rb"{\rtf1\ansi{\fonttbl\f0 Arial;}Hello {\b bold} caf\'e9\par}", ["Hello bold caf\u00e9"]),
        "notes.txt": ("Plain notes \u2713\n".encode(), ["Plain notes \u2713\n"]),
    }
    for name, (data, pages) in cases.items():
        asset = media.media_upload(tenant=acme, upload=SimpleUploadedFile(name, data))
        assert asset.status == MediaStatus.PENDING, name
        media_processing.media_process_document(tenant_id=acme.pk, asset_id=asset.pk)
        extracted = MediaText.objects.get(asset=asset)
        assert [extracted.page(n) for n in range(1, len(pages) + 1)] == pages, name


def test_text_over_the_limit_is_kept_up_to_it_and_marked_truncated(acme, media_root, settings):
    settings.MEDIA_MAX_DOCUMENT_CHARS = 40
    asset = media.media_upload(tenant=acme, upload=SimpleUploadedFile("a.pdf", media_files.pdf_with_pages()))
    media_processing.media_process_document(tenant_id=acme.pk, asset_id=asset.pk)
    asset.refresh_from_db()
    assert asset.metadata["truncated"] is True
    text = MediaText.objects.get(asset=asset).text
    assert text.replace("\f", "") == "Invoice 1001 from Acme ToolsTotal due: 2"


def test_hostile_documents_fail_with_their_reason_quickly_and_the_worker_goes_on(workers, acme, media_root, settings):
    settings.MEDIA_MAX_UNPACKED_BYTES = 5_000_000
    api = api_as(acme, "erin")
    hostile = {
        "10k-pages.pdf": (media_files.pdf_with_empty_pages(10_000), "10000 pages, over the limit of 2000"),
        "bomb.docx": (media_files.docx_bomb(50_000_000), "over the limit of 5000000 (a decompression bomb?)"),
        "corrupt.pdf": (media_files.corrupt_pdf(), "corrupt or unreadable"),
    }
    began = time.monotonic()
    ids = {name: upload(api, name, data).json()["id"] for name, (data, _) in hostile.items()}
    good = upload(api, "fine.pdf", media_files.pdf_with_pages()).json()["id"]
    for name, (_, reason) in hostile.items():
        asset = processed(ids[name])
        assert asset.status == MediaStatus.FAILED, name
        assert reason in asset.error, (name, asset.error)
        assert api.get(f"/api/v1/media/{asset.pk}").json()["document"] is None
        assert api.get(f"/api/v1/media/{asset.pk}/text").status_code == 404
    assert processed(good).status == MediaStatus.READY
    assert time.monotonic() - began < 30
    assert not MediaText.objects.filter(asset_id__in=ids.values()).exists()


def test_text_endpoint_bad_parameters_are_400_naming_them(acme, media_root):
    asset = media.media_upload(tenant=acme, upload=SimpleUploadedFile("a.pdf", media_files.pdf_with_pages()))
    api = api_as(acme, "vic")
    assert api.get(f"/api/v1/media/{asset.pk}/text").status_code == 404  # not processed yet
    media_processing.media_process_document(tenant_id=acme.pk, asset_id=asset.pk)
    assert "page" in api.get(f"/api/v1/media/{asset.pk}/text?page=4").json()
    assert "page" in api.get(f"/api/v1/media/{asset.pk}/text?page=x").json()
    assert "offset" in api.get(f"/api/v1/media/{asset.pk}/text?offset=-1").json()
    assert "limit" in api.get(f"/api/v1/media/{asset.pk}/text?limit=lots").json()


def test_legacy_office_files_are_stored_ready_without_processing(acme, media_root):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600  # an old binary .doc/.xls container
    body = upload(api_as(acme, "erin"), "old.doc", ole).json()
    assert body["status"] == "ready"
    assert not MediaAsset.objects.get(pk=body["id"]).next_attempt_at


def test_thumbnail_is_a_fitted_render_of_the_first_page(acme, media_root):
    asset = media.media_upload(tenant=acme, upload=SimpleUploadedFile("p.pdf", media_files.pdf_with_pages()))
    media_processing.media_process_document(tenant_id=acme.pk, asset_id=asset.pk)
    image = variant_image(asset, "thumb")
    assert isinstance(image, Image.Image)
    assert image.size == (182, 256)  # A4 portrait (210 x 297 mm) fitted within 256 px
    inked = sum(1 for pixel in image.convert("L").get_flattened_data() if pixel < 200)
    assert inked > 20  # the first line of text is drawn (small and anti-aliased at this size)
