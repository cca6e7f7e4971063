"""Interpreter histories replay without non-determinism: the runs of this session, and the
histories recorded in `histories/` from earlier versions of the interpreter."""

import os
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tests.workflows import graphs
from tests.workflows.conftest import open_approval_of, start, user, wait_result
from workflows.services import approvals, executions
from workflows.temporal.workflows import InterpreterWorkflow

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
            (HISTORIES / f"{name}.json").write_text(history.to_json())


def test_recorded_histories_replay():
    recorded = sorted(HISTORIES.glob("*.json"))
    assert recorded, "no recorded histories"
    replay([WorkflowHistory.from_json(path.stem, path.read_text()) for path in recorded])
