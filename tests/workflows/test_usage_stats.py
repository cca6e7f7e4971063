"""`/api/v1/executions/stats`: runs per day by status, durations per workflow, top workflows by LLM cost."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from llm.models import LLMUsage
from tests.workflows import graphs
from tests.workflows.conftest import api_as
from workflows.models import WorkflowExecution
from workflows.services import definitions

pytestmark = pytest.mark.django_db(transaction=True)

RECORD = graphs.graph(
    graphs.START, graphs.record("save"), graphs.END, graphs.edge("start", "save"), graphs.edge("save", "end")
)


def a_run(tenant, definition, *, status="completed", seconds=None, days_ago=0, run_id=None):
    now = timezone.now() - timedelta(days=days_ago)
    run = WorkflowExecution.objects.create(
        tenant=tenant,
        definition=definition,
        version=definition.latest_version,
        status=status,
        started_at=now if seconds is not None else None,
        finished_at=now + timedelta(seconds=seconds) if seconds is not None else None,
        **({"id": run_id} if run_id else {}),
    )
    WorkflowExecution.objects.filter(pk=run.pk).update(created_at=now)
    return run


def spend(tenant, run, cost: str, tokens: int = 10):
    LLMUsage.objects.create(
        tenant=tenant, scope="workflow", provider="openai", model="gpt-4o-mini", status="ok",
        input_tokens=tokens, output_tokens=tokens, cost=Decimal(cost), execution_id=run.pk,
    )  # fmt: skip


def test_stats_count_runs_per_day_and_measure_durations_per_workflow(acme):
    quick = definitions.definition_create(tenant=acme, name="Quick", graph=RECORD)
    slow = definitions.definition_create(tenant=acme, name="Slow", graph=RECORD)
    for seconds in (1, 2, 3, 4, 100):
        a_run(acme, quick, seconds=seconds)
    a_run(acme, slow, seconds=60, days_ago=1)
    a_run(acme, slow, status="failed", seconds=30, days_ago=1)
    a_run(acme, slow, status="running")
    a_run(acme, slow, days_ago=45)  # outside the default 30 days

    stats = api_as(acme, "vic").get("/api/v1/executions/stats").json()

    today = timezone.now().date()
    by_day = {(row["day"], row["status"]): row["runs"] for row in stats["runs_per_day"]}
    assert by_day == {
        (today.isoformat(), "completed"): 5,
        (today.isoformat(), "running"): 1,
        ((today - timedelta(days=1)).isoformat(), "completed"): 1,
        ((today - timedelta(days=1)).isoformat(), "failed"): 1,
    }
    durations = {row["name"]: row for row in stats["durations"]}
    assert (durations["Quick"]["runs"], durations["Quick"]["p50_ms"]) == (5, 3000)
    assert durations["Quick"]["p95_ms"] == pytest.approx(80_800, abs=1)  # 4 s + 0.8 * (100 s - 4 s)
    assert (durations["Slow"]["runs"], durations["Slow"]["p50_ms"]) == (2, 45_000)


def test_top_workflows_by_llm_cost_sum_their_runs_calls(acme, globex):
    cheap = definitions.definition_create(tenant=acme, name="Cheap", graph=RECORD)
    dear = definitions.definition_create(tenant=acme, name="Dear", graph=RECORD)
    spend(acme, a_run(acme, cheap), "0.001")
    run = a_run(acme, dear)
    spend(acme, run, "0.004", tokens=50)
    spend(acme, run, "0.006", tokens=50)
    foreign = definitions.definition_create(tenant=globex, name="Theirs", graph=RECORD)
    spend(globex, a_run(globex, foreign), "9")

    top = api_as(acme, "vic").get("/api/v1/executions/stats").json()["top_workflows_by_cost"]

    assert [(row["name"], Decimal(row["cost"]), row["requests"], row["tokens"]) for row in top] == [
        ("Dear", Decimal("0.01"), 2, 200),
        ("Cheap", Decimal("0.001"), 1, 20),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-02-01&until=2026-01-01", "since"),
        ("since=2020-01-01&until=2026-01-01", "since"),
        ("until=x", "until"),
    ],
)
def test_a_bad_span_is_a_400_naming_it(acme, query, field):
    response = api_as(acme, "vic").get(f"/api/v1/executions/stats?{query}")

    assert response.status_code == 400 and field in response.json()
