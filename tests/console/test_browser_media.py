"""The Media page in a real browser: a PDF processed by the real workers shows its thumbnail and
a link to its text, a video its poster and a `<video>` that plays the web variant; search finds a
document by its words; another tenant's files are a 404 like missing ones."""

import pytest
from playwright.sync_api import expect

from tests.console.conftest import screenshot
from tests.jobs import media_files
from tests.jobs.test_media import processed, upload
from tests.workflows import conftest as workflow_fixtures
from tests.workflows.conftest import api_as, user

pytestmark = pytest.mark.django_db(transaction=True)

acme = workflow_fixtures.acme
globex = workflow_fixtures.globex
workers = workflow_fixtures.workers


@pytest.fixture
def shared_media(settings, tmp_path, monkeypatch):
    """One media root for this process's workers and the served console (its child process reads
    MEDIA_ROOT from the environment); requested before the server starts."""
    root = tmp_path / "media-root"
    settings.MEDIA_ROOT = str(root)
    monkeypatch.setenv("MEDIA_ROOT", str(root))
    return root


def loaded(locator) -> bool:
    """Whether an <img> got its bytes and decoded them."""
    return locator.evaluate("image => image.complete && image.naturalWidth > 0")


def test_media_page_shows_thumbnail_poster_and_plays_the_web_video(shared_media, page_as, acme, globex, workers):
    api = api_as(acme, "alice")
    pdf = processed(upload(api, "invoice.pdf", media_files.pdf_with_pages(), "application/pdf").json()["id"])
    video = processed(upload(api, "clip.mp4", media_files.mp4(seconds=2, width=320, height=240)).json()["id"])
    assert (pdf.status, video.status) == ("ready", "ready"), (pdf.error, video.error)
    foreign = processed(
        upload(
            api_as(globex, "gina"), "secret.pdf", media_files.pdf_with_pages(["Globex only"]), "application/pdf"
        ).json()["id"]
    )

    page = page_as(user("alice"))
    page.goto("/")
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Media").click()
    expect(page.get_by_role("heading", name="Media")).to_be_visible()
    cards = page.locator(".media-card")
    expect(cards).to_have_count(2)

    document = page.locator(f'[data-asset="{pdf.pk}"]')
    expect(document).to_contain_text("invoice.pdf")
    expect(document).to_contain_text("document")
    expect(document).to_contain_text("ready")
    expect(document).to_contain_text("3 page(s)")
    thumb = document.get_by_role("img", name="Thumbnail of invoice.pdf")
    expect(thumb).to_have_attribute("src", f"/media/{pdf.pk}/variants/thumb")
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("image => image.naturalWidth") == 256 or thumb.evaluate("image => image.naturalHeight") == 256
    text = page.request.get(document.get_by_role("link", name="Extracted text").get_attribute("href"))
    assert text.ok and text.text().split("\f") == media_files.PAGE_TEXTS

    clip = page.locator(f'[data-asset="{video.pk}"]')
    expect(clip).to_contain_text("video")
    expect(clip).to_contain_text("320\u00d7240")
    player = clip.locator("video")
    expect(player).to_have_attribute("src", f"/media/{video.pk}/variants/web")
    expect(player).to_have_attribute("poster", f"/media/{video.pk}/variants/poster")
    expect(player).to_have_attribute("controls", "")
    # The browser reads the web variant's metadata: it is a video it can play, of the clip's length.
    page.wait_for_function("video => video.readyState >= 1", arg=player.element_handle(), timeout=15_000)
    assert round(player.evaluate("video => video.duration")) == 2
    assert player.evaluate("video => [video.videoWidth, video.videoHeight]") == [320, 240]
    poster = page.request.get(f"/media/{video.pk}/variants/poster")
    assert poster.ok and poster.headers["content-type"] == "image/jpeg"
    screenshot(page, "media")

    # The player is reachable from the keyboard, with the visible focus ring.
    player.focus()
    assert page.evaluate("document.activeElement.tagName") == "VIDEO"

    page.get_by_role("searchbox", name="Search").fill("Lovelace")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("invoice.pdf")

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("searchbox", name="Search").fill("")
    expect(cards).to_have_count(2)
    for card in cards.all():
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    screenshot(page, "media-phone")

    # Another tenant's asset: the same 404 as one that does not exist.
    assert page.request.get(f"/media/{foreign.pk}/variants/thumb").status == 404
    assert page.request.get(f"/media/{foreign.pk}/text").status == 404
    assert page.request.get("/media/999999/variants/thumb").status == 404
    assert page.console_errors == []
