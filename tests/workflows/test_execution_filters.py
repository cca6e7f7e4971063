"""The runs list: filters (workflow, status, dates, starter, trigger) and cursor pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.workflows import graphs
from tests.workflows.conftest import api_as, user
from workflows.models import WorkflowExecution
from workflows.services import definitions

pytestmark = pytest.mark.django_db(transaction=True)

RECORD = graphs.graph(
    graphs.START, graphs.record("save"), graphs.END, graphs.edge("start", "save"), graphs.edge("save", "end")
)


@pytest.fixture
def runs(acme):
    """Seven runs of two workflows, a minute apart (newest last), by alice, erin or a trigger."""
    first = definitions.definition_create(tenant=acme, name="First", graph=RECORD)
    second = definitions.definition_create(tenant=acme, name="Second", graph=RECORD)
    now = timezone.now()
    made = []
    specs = [
        ("execution-a1", first, "alice", "completed"),
        ("execution-a2", first, "erin", "failed"),
        ("workflow-schedule-1-20260101T000000Z", first, None, "completed"),
        ("webhook-3-evt1", second, None, "completed"),
        ("execution-a3", second, "erin", "completed"),
        ("execution-a4", second, "alice", "running"),
        ("execution-a5", first, "alice", "completed"),
    ]
    for minutes, (run_id, definition, starter, status) in enumerate(specs):
        run = WorkflowExecution.objects.create(
            id=run_id,
            tenant=acme,
            definition=definition,
            version=definition.latest_version,
            status=status,
            started_by=user(starter) if starter else None,
        )
        WorkflowExecution.objects.filter(pk=run.pk).update(created_at=now - timedelta(minutes=len(specs) - minutes))
        made.append(run_id)
    return {"first": first, "second": second, "ids": made, "now": now}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [run["id"] for run in response.json()["results"]]


def test_filters_narrow_the_runs_and_combine(acme, runs):
    api = api_as(acme, "vic")
    first = runs["first"].pk

    assert ids(api.get(f"/api/v1/executions?workflow={first}&status=completed")) == [
        "execution-a5", "workflow-schedule-1-20260101T000000Z", "execution-a1",
    ]  # fmt: skip
    assert ids(api.get("/api/v1/executions?started_by=erin")) == ["execution-a3", "execution-a2"]
    assert ids(api.get("/api/v1/executions?trigger=schedule")) == ["workflow-schedule-1-20260101T000000Z"]
    assert ids(api.get("/api/v1/executions?trigger=webhook")) == ["webhook-3-evt1"]
    after = (runs["now"] - timedelta(minutes=3, seconds=30)).isoformat()
    before = (runs["now"] - timedelta(minutes=1, seconds=30)).isoformat()
    assert ids(api.get("/api/v1/executions", {"created_after": after, "created_before": before})) == [
        "execution-a4", "execution-a3",
    ]  # fmt: skip


def test_every_run_says_what_triggered_it(acme, runs):
    results = api_as(acme, "vic").get("/api/v1/executions").json()["results"]

    assert {run["id"]: run["trigger"] for run in results}["webhook-3-evt1"] == "webhook"
    assert {run["trigger"] for run in results} == {"manual", "schedule", "webhook"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("trigger=cron", "trigger"),
        ("workflow=abc", "workflow"),
        ("created_after=yesterday", "created_after"),
        ("created_after=2026-02-01T00:00:00Z&created_before=2026-01-01T00:00:00Z", "created_before"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(acme, runs, query, field):
    response = api_as(acme, "vic").get(f"/api/v1/executions?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_cursor_pages_walk_every_run_once_and_offset_pages_are_unchanged(acme, runs):
    api = api_as(acme, "vic")
    seen, page = [], api.get("/api/v1/executions?cursor=&limit=3").json()
    assert "count" not in page
    while True:
        seen += [run["id"] for run in page["results"]]
        if not page["next"]:
            break
        page = api.get(page["next"]).json()

    assert seen == list(reversed(runs["ids"]))
    offset = api.get("/api/v1/executions?limit=3&offset=3").json()
    assert offset["count"] == 7 and [run["id"] for run in offset["results"]] == list(reversed(runs["ids"]))[3:6]


def test_another_tenants_runs_never_show(acme, globex, runs):
    assert ids(api_as(globex, "gina").get("/api/v1/executions?cursor=")) == []


def test_workflows_carry_tags_and_are_found_by_tag_name_and_status(acme):
    api = api_as(acme, "erin")
    body = {"name": "Invoices in", "definition": RECORD, "tags": ["finance", "inbound"]}
    created = api.post("/api/v1/workflows", body, format="json")
    assert created.status_code == 201, created.content
    definitions.definition_create(tenant=acme, name="Onboarding", graph=RECORD, tags=["people"])
    workflow_id = created.json()["id"]

    assert [w["name"] for w in api.get("/api/v1/workflows?tag=finance").json()["results"]] == ["Invoices in"]
    assert [w["name"] for w in api.get("/api/v1/workflows?name=board").json()["results"]] == ["Onboarding"]
    assert api.patch(f"/api/v1/workflows/{workflow_id}", {"tags": ["ops"]}, format="json").json()["tags"] == ["ops"]
    assert api.get("/api/v1/workflows?tag=finance").json()["results"] == []


@pytest.mark.parametrize("tags", [["Finance"], ["a b"], "finance", [""], [f"t{n}" for n in range(21)]])
def test_a_bad_tag_is_a_400_naming_tags(acme, tags):
    response = api_as(acme, "erin").post(
        "/api/v1/workflows", {"name": "X", "definition": RECORD, "tags": tags}, format="json"
    )

    assert response.status_code == 400 and "tags" in response.json()


def test_a_malformed_tag_filter_is_a_400_naming_it(acme):
    response = api_as(acme, "vic").get("/api/v1/workflows", {"tag": "W\x00x"})

    assert response.status_code == 400 and "tag" in response.json()
