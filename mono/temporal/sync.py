"""Run Temporal coroutines from synchronous Django code.

One daemon thread per process owns an event loop; sync callers submit coroutines to it and
wait. The Temporal clients therefore live on one loop for the life of the process and are
reused across requests, instead of reconnecting for every `asyncio.run`.
"""

import asyncio
import atexit
import concurrent.futures
import logging
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
    """Before the interpreter finalises: cancel what still runs on the portal loop, let it unwind,
    then stop the loop. Left running, a coroutine may write to stdout or be called back by the
    SDK's native threads while the interpreter tears down, and the process aborts (SIGABRT)."""
    if _loop is None or _loop.is_closed() or _thread is None:
        return

    async def cancel_everything() -> None:
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    try:
        asyncio.run_coroutine_threadsafe(cancel_everything(), _loop).result(6)
    except Exception:  # the loop is stuck or gone: stopping it below is all that is left to do
        logging.getLogger(__name__).debug("portal loop did not unwind at exit", exc_info=True)
    _loop.call_soon_threadsafe(_loop.stop)
    _thread.join(5)


def submit(make_coroutine: Callable[[], Awaitable[T]]) -> concurrent.futures.Future:
    """Start `make_coroutine()` on the portal loop; its future (cancel it to stop the coroutine)."""
    loop = _portal_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        raise RuntimeError("mono.temporal.sync called from the portal loop itself")

    async def call() -> T:
        return await make_coroutine()

    return asyncio.run_coroutine_threadsafe(call(), loop)


def run(make_coroutine: Callable[[], Awaitable[T]], *, timeout: float | None = 30.0) -> T:
    """Call `make_coroutine()` on the portal loop and return its result (or raise its error).

    If the caller stops waiting (timeout, Ctrl-C), the coroutine is cancelled: it never outlives
    the call that wanted it."""
    future = submit(make_coroutine)
    try:
        return future.result(timeout)
    except BaseException:
        future.cancel()
        raise
