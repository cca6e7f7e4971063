"""The host's fair sharing primitives: per-tenant activity slots and the round-robin thread pool."""

import asyncio
import threading
import time

import pytest

from mono.temporal.fairness import FairExecutor, TenantSlots
from mono.temporal.hosting import tenant_activity_slots


def test_tenant_slots_never_exceed_the_limit_and_pass_on_in_order():
    async def scenario():
        slots = TenantSlots(2)
        await slots.reserve_slot(None)
        await slots.reserve_slot(None)
        assert slots.try_reserve_slot(None) is None
        order: list[str] = []

        async def waiter(name: str):
            await slots.reserve_slot(None)
            order.append(name)

        first = asyncio.create_task(waiter("first"))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(waiter("second"))
        await asyncio.sleep(0.01)
        assert order == []
        # Released from another thread, as the SDK may do.
        threading.Thread(target=slots.release_slot).start()
        await asyncio.wait_for(first, 2)
        assert order == ["first"] and not second.done()
        slots.release_slot()
        await asyncio.wait_for(second, 2)
        assert slots.held == 2

    asyncio.run(scenario())


def test_a_cancelled_waiter_does_not_swallow_a_slot():
    async def scenario():
        slots = TenantSlots(1)
        await slots.reserve_slot(None)
        waiting = asyncio.create_task(slots.reserve_slot(None))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        slots.release_slot()
        assert slots.held == 0
        assert slots.try_reserve_slot(None) is not None

    asyncio.run(scenario())


def test_fair_executor_takes_tenants_in_turn_not_in_arrival_order():
    pool = FairExecutor(1, name="test-fair")
    gate, busy = threading.Event(), threading.Event()
    ran: list[str] = []

    def hold() -> None:
        busy.set()
        gate.wait()

    try:
        pool.submit("a", hold)  # occupies the only thread while the queue fills
        assert busy.wait(2)
        futures = [pool.submit("a", ran.append, f"a{i}") for i in range(5)]
        futures.append(pool.submit("b", ran.append, "b0"))
        gate.set()
        for future in futures:
            future.result(2)
    finally:
        pool.shutdown()
    # b's one task arrived after five of a's, yet runs second, not last.
    assert ran == ["a0", "b0", "a1", "a2", "a3", "a4"]


def test_tenant_view_is_a_thread_pool_executor_that_runs_on_the_shared_threads():
    from concurrent.futures import ThreadPoolExecutor

    pool = FairExecutor(2, name="test-fair")
    try:
        view = pool.for_tenant(7)
        assert isinstance(view, ThreadPoolExecutor)  # the SDK runs sync activities only on these
        name = view.submit(lambda: threading.current_thread().name).result(2)
        assert name.startswith("test-fair-")
        view.shutdown()  # a worker shutting down leaves the shared pool running
        assert view.submit(time.monotonic).result(2) > 0
    finally:
        pool.shutdown()


@pytest.mark.parametrize(("threads", "share", "slots"), [(32, 0.25, 8), (4, 0.1, 1), (10, 1.0, 10), (10, 2.0, 10)])
def test_tenant_share_of_the_threads(threads, share, slots):
    assert tenant_activity_slots(threads, share) == slots
