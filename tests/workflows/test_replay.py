"""Interpreter histories replay without non-determinism: the runs of this session, and the
histories recorded in `histories/` from earlier versions of the interpreter.

`histories/<name>.json` were recorded before bookkeeping was folded (one activity per record);
`histories/folded-<name>.json` after (patch `folded-bookkeeping`). Both sets must keep replaying
while runs of either kind may still be in flight.
"""

import os
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tests.workflows import graphs
from tests.workflows.conftest import open_approval_of, start, user, wait_result
from workflows.services import approvals, executions
from workflows.temporal.workflows import FOLDED_BOOKKEEPING, InterpreterWorkflow

HISTORIES = Path(__file__).parent / "histories"


def replay(histories: list[WorkflowHistory]) -> None:
    async def run():
        replayer = Replayer(workflows=[InterpreterWorkflow])
        results = [await replayer.replay_workflow(history, raise_on_replay_failure=False) for history in histories]
        return [
            (history.workflow_id, result.replay_failure) for history, result in zip(histories, results, strict=True)
        ]

    failures = [(workflow_id, failure) for workflow_id, failure in sync.run(run) if failure]
    assert failures == []


def test_histories_of_this_run_replay(workers, acme):
    runs = {
        "decision-join": start(acme, graphs.DECISION_THEN_JOIN, {"amount": 500, "key": "a"}),
        "parallel": start(acme, graphs.PARALLEL, {"key": "b"}),
        "wait": start(acme, graphs.wait_graph(duration="PT0.1S")),
        "approval": start(acme, graphs.approval_graph(), {"key": "c"}),
        "cancelled": start(acme, graphs.approval_graph(), {"key": "d"}),
    }
    approvals.approval_decide(approval=open_approval_of(runs["approval"]), user=user("ada"), decision="approve")
    open_approval_of(runs["cancelled"])
    executions.execution_cancel(execution=runs["cancelled"])

    async def fetch():
        client = await get_tenant_client(acme)
        return {name: await client.get_workflow_handle(run.id).fetch_history() for name, run in runs.items()}

    for run in runs.values():
        wait_result(run)
    histories = sync.run(fetch)
    replay(list(histories.values()))
    if os.environ.get("RECORD_HISTORIES"):  # refresh the recorded set: RECORD_HISTORIES=1 make test
        for name, history in histories.items():
            (HISTORIES / f"folded-{name}.json").write_text(history.to_json())


def test_recorded_histories_replay():
    recorded = sorted(HISTORIES.glob("*.json"))
    assert recorded, "no recorded histories"
    replay([WorkflowHistory.from_json(path.stem, path.read_text()) for path in recorded])


def _patched(history: WorkflowHistory) -> bool:
    return any(
        FOLDED_BOOKKEEPING in str(event.marker_recorded_event_attributes.details)
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
    )


def _scheduled_activities(history: WorkflowHistory) -> list[str]:
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]


def test_both_generations_of_histories_are_recorded_and_replay():
    """Runs started before the patch (a full activity per record) and after it (folded) replay."""
    recorded = {path.stem: WorkflowHistory.from_json(path.stem, path.read_text()) for path in HISTORIES.glob("*.json")}
    old = {name: history for name, history in recorded.items() if not name.startswith("folded-")}
    new = {name: history for name, history in recorded.items() if name.startswith("folded-")}
    assert old and new
    assert not any(_patched(history) for history in old.values())
    assert all(_patched(history) for history in new.values())
    # The old generation wrote its records with activities; the new one never does.
    assert "record_step" in _scheduled_activities(old["decision-join"])
    assert not {"record_step", "execution_started", "execution_finish"} & {
        name for history in new.values() for name in _scheduled_activities(history)
    }
    replay(list(old.values()) + list(new.values()))
