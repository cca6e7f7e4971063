"""Test-session services: a real Temporal dev server from the virtualenv, started once.

PostgreSQL comes from DATABASE_URL (pytest-django creates and drops the test database).
"""

import asyncio
import threading

import pytest
from django.conf import settings

from mono.kernel.ttl import TTLCache
from mono.temporal.client import forget_connections
from mono.temporal.devserver import TemporalDevServer
from mono.temporal.workers import TemporalWorkerManager


@pytest.fixture(scope="session", autouse=True)
def temporal_server():
    server = TemporalDevServer().start()
    settings.TEMPORAL_ADDRESS = server.address
    forget_connections()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Each test reads keys, credentials and prices from its own database, not from a cache that
    an earlier test filled (ids repeat across tests)."""
    TTLCache.clear_all()


@pytest.fixture
def start_workers(transactional_db):
    """Start a `TemporalWorkerManager` on its own thread and loop; stopped after the test.

    Call it with the manager's keyword arguments; it returns once the first reconcile is done.
    It brings a transactional database (the workers' threads read committed rows), set up first
    so it is torn down last: the workers stop before the tables are flushed, never during it.
    """
    started: list[tuple[TemporalWorkerManager, threading.Thread]] = []

    def start(**kwargs) -> TemporalWorkerManager:
        kwargs.setdefault("refresh_seconds", 0.2)
        kwargs.setdefault("shutdown_seconds", 5)
        manager = TemporalWorkerManager(**kwargs)
        errors: list[BaseException] = []

        def host() -> None:
            try:
                asyncio.run(manager.run())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=host, name="test-workers", daemon=True)
        thread.start()
        started.append((manager, thread))
        deadline = 30
        while not manager.reconciled.is_set() and deadline > 0 and not errors:
            threading.Event().wait(0.05)
            deadline -= 0.05
        if errors:
            raise errors[0]
        assert manager.reconciled.is_set(), "workers did not start in 30 s"
        return manager

    yield start
    for manager, thread in started:
        manager.request_stop()
        thread.join(30)
