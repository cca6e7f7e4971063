"""Database connections: bounded per process by the pool; a request that finds none free gets 503.

Under ASGI every request runs on a thread of its own. Before the pool, each thread kept its own
PostgreSQL connection, and 16 concurrent clients were enough to make PostgreSQL refuse more
("too many clients") and the API answer 500.
"""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.db import connection, connections
from django.test import Client

from tenants.services import api_key_create
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.support import process


def _server_connections() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_concurrent_requests_share_the_web_process_pool(transactional_db):
    user = UserFactory(username="pooled")
    tenant = TenantFactory(slug="pooled")
    MembershipFactory(tenant=tenant, user=user)
    _, key = api_key_create(tenant=tenant, user=user, name="load")
    before = _server_connections()
    env = process.child_env(DATABASE_POOL_MAX_SIZE="3", DATABASE_POOL_MIN_SIZE="1")
    with process.asgi_server(env) as port:
        peak, stop = [0], threading.Event()

        def watch() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _server_connections() - before)
                stop.wait(0.01)
            connections.close_all()

        watcher = threading.Thread(target=watch)
        watcher.start()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}) as client:
            with ThreadPoolExecutor(48) as pool:
                statuses = list(pool.map(lambda _: client.get("/api/v1/me", timeout=30).status_code, range(240)))
        stop.set()
        watcher.join()
    assert statuses == [200] * 240
    assert 1 <= peak[0] <= 3


@contextlib.contextmanager
def exhausted_pool():
    """A pool of one connection, held by this thread: no other thread can get one."""
    settings_dict = connection.settings_dict
    saved = dict(settings_dict["OPTIONS"]["pool"])
    connection.close()
    connection.close_pool()
    settings_dict["OPTIONS"]["pool"].update(min_size=1, max_size=1, timeout=0.2)
    connection.ensure_connection()
    yield
    connection.close()
    connection.close_pool()
    settings_dict["OPTIONS"]["pool"] = saved


def test_request_that_finds_no_free_connection_answers_503_with_retry_after(transactional_db):
    user = UserFactory(username="waiting")
    tenant = TenantFactory(slug="waiting")
    MembershipFactory(tenant=tenant, user=user)
    _, key = api_key_create(tenant=tenant, user=user, name="busy")
    answers = []

    def request() -> None:
        client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {key}"})
        answers.append(client.get("/api/v1/workflows"))
        connections.close_all()

    with exhausted_pool():
        thread = threading.Thread(target=request)
        thread.start()
        thread.join(30)
    (response,) = answers
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json() == {"detail": "The service is busy; try again shortly."}
