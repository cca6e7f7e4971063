"""Browser console benchmark: bundle size and the editor's time to interactive on a large graph.

1. Bundle: raw and gzip (level 9) bytes of every file under `static/console/` (what `make frontend`
   builds and the pages load).
2. Time to interactive of the editor page with a 100-node workflow, in headless Chromium through
   Playwright: from navigation start to the moment the canvas shows all 100 nodes (rendered and
   measured, so visible), read as `performance.now()` in the page. One cold run is discarded
   (it warms the server's and the browser's caches), then the median and range of the next runs.

Setup: a throwaway PostgreSQL database, `mono_bench_editor`, created, migrated and dropped by this
script; a tenant, a user and the workflow are written with the ORM; uvicorn serves
`mono.asgi:application` with `DEBUG=1` (static files straight from `static/`). Temporal is not
needed: the editor page only reads and validates. From the project root:

    .venv/bin/python bench/editor.py

It needs a local PostgreSQL on which the `postgres` role may create databases, and Chromium at
`/usr/bin/chromium` (or `CHROMIUM_PATH`).
"""

import gzip
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432"
BENCH_DB = "mono_bench_editor"
DATABASE_URL = f"{POSTGRES_URL}/{BENCH_DB}"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
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
NODES = 100
RUNS = 5


def bundle_sizes() -> list[tuple[str, int, int]]:
    rows = []
    for path in sorted((ROOT / "static" / "console").iterdir()):
        data = path.read_bytes()
        rows.append((path.name, len(data), len(gzip.compress(data, compresslevel=9))))
    return rows


def large_graph(count: int) -> dict:
    """A valid workflow of `count` nodes of several types on a grid: Start, then rungs of a decision
    whose true/false branches (record updates) join again at a wait, then record updates, then End."""

    def add(node_id: str, node_type: str, x: int, y: int, **data) -> str:
        nodes.append({"id": node_id, "type": node_type, "position": {"x": x, "y": y}, "data": data})
        return node_id

    def link(source: str, target: str, handle: str | None = None) -> None:
        edge = {"id": f"e-{source}-{handle or 'out'}-{target}", "source": source, "target": target}
        edges.append({**edge, "sourceHandle": handle} if handle else edge)

    nodes: list[dict] = []
    edges: list[dict] = []
    previous, y = add("start", "StartNode", 300, 0, trigger="manual"), 0
    rungs = (count - 2) // 4
    for rung in range(1, rungs + 1):
        decision = add(f"d{rung}", "DecisionNode", 300, y + 120, condition=f"input.n > {rung}")
        join = add(f"j{rung}", "WaitNode", 300, y + 360, duration="PT1S")
        for handle, x in (("true", 0), ("false", 600)):
            fields = {"branch": handle}
            branch = add(
                f"{handle}{rung}",
                "UpdateRecordNode",
                x,
                y + 240,
                operation="upsert",
                collection="bench",
                key=f"k{rung}",
                fields=fields,
            )
            link(decision, branch, handle)
            link(branch, join)
        link(previous, decision)
        previous, y = join, y + 360
    while len(nodes) < count - 1:
        y += 120
        record = add(
            f"x{len(nodes)}",
            "UpdateRecordNode",
            300,
            y,
            operation="upsert",
            collection="bench",
            key="x",
            fields={"n": 1},
        )
        link(previous, record)
        previous = record
    link(previous, add("end", "EndNode", 300, y + 120, status="completed"))
    return {"nodes": nodes, "edges": edges, "viewport": {"x": 0, "y": 0, "zoom": 1}}


def recreate_database() -> None:
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))


def drop_database() -> None:
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))


def setup() -> tuple[int, str]:
    """Migrate, then write a tenant, its owner and the large workflow; (workflow id, session key)."""
    os.environ.update(DJANGO_SETTINGS_MODULE="mono.settings", DATABASE_URL=DATABASE_URL, DEBUG="1")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from tenants.models import Membership, Role, Tenant
    from workflows.services.definitions import definition_create

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench")
    # Rows written directly: the tenant's Temporal namespace is not needed to open the editor.
    tenant = Tenant.objects.create(name="Bench", slug="bench")
    Membership.objects.create(tenant=tenant, user=user, role=Role.OWNER)
    definition = definition_create(tenant=tenant, name="Large", graph=large_graph(NODES), actor=user)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    from django.db import connections

    connections.close_all()
    return definition.pk, session.session_key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(port: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=DATABASE_URL, DEBUG="1", ALLOWED_HOSTS="127.0.0.1", REDIS_URL="")
    options = ["--lifespan", "off", "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "3"]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "mono.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *options,
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("uvicorn did not start") from None
            time.sleep(0.1)


ALL_NODES_SHOWN = f"""() => {{
    const shown = [...document.querySelectorAll('.react-flow__node')]
        .filter((node) => getComputedStyle(node).visibility !== 'hidden');
    return shown.length >= {NODES} ? performance.now() : false;
}}"""


def time_to_interactive(base_url: str, workflow_id: int, session_key: str) -> list[float]:
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(RUNS + 1):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_cookies([{"name": "sessionid", "value": session_key, "url": base_url}])
            page = context.new_page()
            page.goto(f"{base_url}/workflows/{workflow_id}/edit", wait_until="commit")
            handle = page.wait_for_function(ALL_NODES_SHOWN, polling="raf", timeout=60_000)
            timings.append(handle.json_value())
            context.close()
        browser.close()
    return timings[1:]


def main() -> None:
    print("Bundle (static/console/)")
    total_raw = total_gzip = 0
    for name, raw, gz in bundle_sizes():
        total_raw, total_gzip = total_raw + raw, total_gzip + gz
        print(f"  {name:<16} {raw / 1024:8.1f} KiB raw  {gz / 1024:7.1f} KiB gzip")
    print(f"  {'total':<16} {total_raw / 1024:8.1f} KiB raw  {total_gzip / 1024:7.1f} KiB gzip")

    recreate_database()
    server = None
    try:
        workflow_id, session_key = setup()
        port = free_port()
        server = serve(port)
        timings = time_to_interactive(f"http://127.0.0.1:{port}", workflow_id, session_key)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        drop_database()
    print(f"\nEditor time to interactive, {NODES}-node workflow (navigation start → {NODES} nodes shown)")
    print(f"  runs: {', '.join(f'{t:.0f}' for t in timings)} ms (after one discarded cold run)")
    print(f"  median {statistics.median(timings):.0f} ms, min {min(timings):.0f} ms, max {max(timings):.0f} ms")


if __name__ == "__main__":
    main()
