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
`/usr/bin/chromium` (or `CHROMIUM_PATH`). `BENCH_QUICK=1` times one run after the cold one: a smoke
run, not a figure.
"""

import gzip
import os
import statistics
from pathlib import Path

from _harness import ROOT, scratch_database, setup_django, sized, start_web_server

BENCH_DB = "mono_bench_editor"
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
RUNS = sized(5, 1)


def bundle_sizes() -> list[tuple[str, int, int]]:
    rows = []
    for path in sorted(Path(ROOT, "static", "console").iterdir()):
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


def setup() -> tuple[int, str]:
    """Write a tenant, its owner and the large workflow; (workflow id, session key)."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from tenants.models import Membership, Role, Tenant
    from workflows.services.definitions import definition_create

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

    with scratch_database(BENCH_DB) as database:
        setup_django(database, debug=True)
        workflow_id, session_key = setup()
        # Temporal is not needed to open the editor, nor Redis: no channel layer.
        server = start_web_server(env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "REDIS_URL": ""})
        try:
            timings = time_to_interactive(server.url, workflow_id, session_key)
        finally:
            server.stop()
    print(f"\nEditor time to interactive, {NODES}-node workflow (navigation start → {NODES} nodes shown)")
    print(f"  runs: {', '.join(f'{t:.0f}' for t in timings)} ms (after one discarded cold run)")
    print(f"  median {statistics.median(timings):.0f} ms, min {min(timings):.0f} ms, max {max(timings):.0f} ms")


if __name__ == "__main__":
    main()
