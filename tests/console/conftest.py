"""Browser fixtures: a real ASGI server (uvicorn in a child process, on the test database and a
Redis channel layer shared with this process's workers) and headless Chromium through Playwright.

Playwright's sync API refuses to run inside an asyncio loop, so the browser is driven from the
test thread; workers (`start_workers`) run their loop on their own thread.
"""

import os
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.test import Client

from tests.support.process import ROOT, asgi_server, child_env, manage

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/3"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking switches Chromium's own connections are refused in a sandbox
# without internet, and it is slow to start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
# Kept out of git: CI keeps them as artifacts; docs/screenshots/ holds a reviewed copy.
SCREENSHOTS = ROOT / ".artifacts" / "screenshots"


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """The static files as production serves them (collected; WhiteNoise serves STATIC_ROOT)."""
    root = tmp_path_factory.mktemp("static")
    result = manage("collectstatic", "--noinput", STATIC_ROOT=str(root), SECRET_KEY="test-only", DEBUG="0")
    assert result.returncode == 0, result.stderr
    assert (root / "console" / "console.js").is_file(), "the console bundle is missing: run `make frontend`"
    return root


@pytest.fixture
def live_server_url(settings, collected_static):
    """uvicorn serving `mono.asgi:application` on the test database; this process's workers
    publish live events to the same Redis channel layer the server's websockets read."""
    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
    env = child_env(
        REDIS_URL=REDIS_URL,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECRET_KEY="test-only",
        DEBUG="0",
        STATIC_ROOT=str(collected_static),
    )
    with asgi_server(env) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium for one test. Playwright's sync API keeps an event loop of its own in
    this thread while it is open, and Django refuses ORM calls from a thread with a loop; the test
    runs no coroutine on it, so the ORM is told to allow them (for this test only)."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # Connections opened while Playwright's loop was set belong to that context: close them
        # here, or the test database cannot be dropped at the end of the session.
        connections.close_all()


@pytest.fixture
def page_as(browser, live_server_url):
    """`page_as(user)`: a 1280x800 page logged in as `user` (a Django session cookie)."""
    contexts = []

    def open_page(user):
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport=VIEWPORT, base_url=live_server_url)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server_url,
                }
            ]
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    """Save a PNG of the page under .artifacts/screenshots/, reduced to a palette to keep it small."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=96, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    reduced.save(path, optimize=True)
