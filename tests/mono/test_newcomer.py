"""A newcomer's path, as written in the README, against the platform `make run` brings up.

One `make run` (its own `python -m mono.devstack`, in a fresh copy of the project with its own
`.data`) serves the module. Commands run in "a second terminal": the copy as working directory,
no Mono variable in the environment, so they find the platform only through `.data/dev.env`.
"""

import asyncio
import json
import os
import re
import subprocess
import time

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests.support.process import ROOT
from tests.support.readme import console_steps, output_matches, readme_section, run_transcript, run_until_shown
from tests.support.stack import fresh_database, make_run, project_copy, terminal_env

README = ROOT / "README.md"


@pytest.fixture(scope="module")
def platform(tmp_path_factory, temporal_server):
    root = project_copy(tmp_path_factory.mktemp("fresh-clone"))
    with fresh_database("stack") as database_url:
        with make_run(root, database_url=database_url, temporal_address=temporal_server.address) as stack:
            yield stack


def second_terminal(platform, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command], cwd=platform.root, env=terminal_env(), capture_output=True, text=True, timeout=60
    )


def replay(platform, heading: str):
    """Every console block of a README section, run as written (the web port is the stack's)."""
    outcomes = []
    for steps in console_steps(readme_section(README, heading)):
        for step in steps:
            step.command = step.command.replace("127.0.0.1:8000", f"127.0.0.1:{platform.port}")
        plain = [step for step in steps if not step.long_running]
        outcomes += run_transcript(plain, cwd=platform.root, env=terminal_env())
        outcomes += [
            run_until_shown(step, cwd=platform.root, env=terminal_env()) for step in steps if step.long_running
        ]
    assert outcomes, f"no console commands under {heading!r}"
    for outcome in outcomes:
        shown = "\n".join(outcome.output)
        assert outcome.returncode == 0, f"{outcome.step.command!r} exited {outcome.returncode}:\n{shown}"
        assert output_matches(outcome.step.expected, outcome.output), (
            f"{outcome.step.command!r} printed:\n{shown}\ninstead of:\n" + "\n".join(outcome.step.expected)
        )
    return outcomes


def test_make_run_leaves_its_environment_where_manage_py_finds_it(platform):
    written = dict(
        line.split("=", 1)
        for line in (platform.root / ".data/dev.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert written["DATABASE_URL"] == platform.database_url
    assert written["TEMPORAL_ADDRESS"] == platform.temporal_address
    assert written["DEBUG"] == "1" and written["SECRET_KEY"]
    assert (platform.root / ".data/dev.env").stat().st_mode & 0o077 == 0  # it holds the secret key

    seen = second_terminal(
        platform,
        ".venv/bin/python manage.py shell -v 0 -c "
        "\"from django.conf import settings as s; print(s.DATABASES['default']['NAME'], s.TEMPORAL_ADDRESS)\"",
    )
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.split() == [platform.database_url.rsplit("/", 1)[1], platform.temporal_address]
    ignored = subprocess.run(["git", "check-ignore", "-q", ".data/dev.env"], cwd=ROOT)
    assert ignored.returncode == 0, ".data/dev.env must stay out of git"


def test_try_the_api_runs_as_written(platform):
    outcomes = replay(platform, "Try the API")
    key = next(o.output[0] for o in outcomes if o.output and o.output[0].startswith("mono_"))
    me = httpx.get(f"{platform.base_url}/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    assert (me.json()["user"], me.json()["tenant"]["slug"]) == ("admin", "demo")


def test_operating_runs_as_written(platform):
    outcomes = replay(platform, "Operating")
    key = next(o.output[0] for o in outcomes if "create_api_key" in o.step.command)
    me = httpx.get(f"{platform.base_url}/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    assert (me.json()["user"], me.json()["tenant"]["slug"], me.json()["role"]) == ("alice", "acme", "owner")


def test_first_ten_minutes_through_the_api(platform):
    steps = readme_section(README, "First ten minutes")
    run_input = json.loads(re.search(r"input `(\{.*?\})`", steps).group(1))
    with httpx.Client(base_url=platform.base_url, follow_redirects=False) as browser:
        # 1. Log in as admin / admin.
        browser.get("/admin/login/")
        login = browser.post(
            "/admin/login/?next=/",
            data={"username": "admin", "password": "admin", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        )
        assert login.status_code == 302 and login.headers["location"] == "/"
        assert browser.get("/").status_code == 200
        browser.headers["X-CSRFToken"] = browser.cookies["csrftoken"]
        # 2. A workflow from the Customer onboarding template.
        created = browser.post("/api/v1/workflow-templates/customer-onboarding/instantiate", json={})
        assert created.status_code == 201, created.text
        # 3. Run it: the approval waits.
        started = browser.post(f"/api/v1/workflows/{created.json()['id']}/execute", json={"input": run_input})
        assert started.status_code == 202, started.text
        execution_id = started.json()["id"]
        approval = wait_for(lambda: browser.get(f"/api/v1/approvals?status=pending&execution={execution_id}"))
        # 4. Approve it: it completes.
        decided = browser.post(f"/api/v1/approvals/{approval['id']}/decide", json={"decision": "approve"})
        assert decided.status_code == 200, decided.text
        finished = wait_for(lambda: browser.get(f"/api/v1/executions/{execution_id}"), status="completed")
        assert {step["node_id"] for step in finished["steps"]} >= {"approve", "welcome"}
        tenant_id = browser.get("/api/v1/me").json()["tenant"]["id"]
    # 5. An API key and a call with it: test_try_the_api_runs_as_written.
    # 6. The Temporal UI shows the run in the demo tenant's namespace, under the execution's id.
    assert f"namespace `mono-tenant-{tenant_id}`" in steps and "workflow `execution-…`" in steps
    assert execution_id.startswith("execution-")

    async def describe():
        client = await Client.connect(platform.temporal_address, namespace=f"mono-tenant-{tenant_id}")
        return await client.get_workflow_handle(execution_id).describe()

    assert asyncio.run(describe()).status == WorkflowExecutionStatus.COMPLETED


def test_pages_have_a_favicon_and_the_web_server_warns_of_no_missing_static_files(platform):
    icon = httpx.get(f"{platform.base_url}/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00"  # an .ico file
    login_page = httpx.get(f"{platform.base_url}/admin/login/").text
    linked = re.search(r'<link rel="icon" href="([^"]+)"', login_page).group(1)
    assert httpx.get(f"{platform.base_url}{linked}").status_code == 200
    assert not [line for line in platform.log if "No directory at" in line]


def test_a_users_own_env_file_wins_and_is_never_written(platform):
    user_env = platform.root / ".env"
    user_env.write_text("DEBUG=1\nDATABASE_URL=postgres://postgres@127.0.0.1:1/their_own\n")
    try:
        result = second_terminal(platform, ".venv/bin/python manage.py add_member --tenant demo --user x --role viewer")
        assert result.returncode == 1
        assert result.stderr.startswith("Cannot reach the database 'their_own' at 127.0.0.1:1 (DATABASE_URL)")
        assert "Traceback" not in result.stderr
        assert user_env.read_text().endswith("their_own\n")
    finally:
        os.remove(user_env)


def wait_for(fetch, *, status: str | None = None, timeout: float = 30) -> dict:
    """Poll an API answer until it lists an item, or has `status`; the item or answer."""
    deadline = time.monotonic() + timeout
    while True:
        body = fetch().json()
        item = body if status else next(iter(body.get("results", [])), None)
        if (item and not status) or (status and body.get("status") == status):
            return item
        assert time.monotonic() < deadline, f"still {body}"
        time.sleep(0.2)
