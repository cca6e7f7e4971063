"""Run Temporal coroutines from synchronous Django code.

One daemon thread per process owns an event loop; sync callers submit coroutines to it and
wait. The Temporal clients therefore live on one loop for the life of the process and are
reused across requests, instead of reconnecting for every `asyncio.run`.
"""

import asyncio
import atexit
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _portal_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=loop.run_forever, name="temporal-portal", daemon=True)
            _thread.start()
            _loop = loop
        return _loop


@atexit.register
def _stop_portal() -> None:
    """Stop the loop before the interpreter finalises: the SDK's native threads may otherwise
    call back into a half torn-down interpreter and abort the process at exit."""
    if _loop is None or _loop.is_closed() or _thread is None:
        return
    _loop.call_soon_threadsafe(_loop.stop)
    _thread.join(5)


def run(make_coroutine: Callable[[], Awaitable[T]], *, timeout: float | None = 30.0) -> T:
    """Call `make_coroutine()` on the portal loop and return its result (or raise its error)."""
    loop = _portal_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        raise RuntimeError("mono.temporal.sync.run() called from the portal loop itself")

    async def call() -> T:
        return await make_coroutine()

    return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout)
