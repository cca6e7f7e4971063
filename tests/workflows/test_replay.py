"""Interpreter histories replay without non-determinism: the runs of this session, and the
histories recorded in `histories/` from earlier versions of the interpreter.

`histories/<name>.json` were recorded before bookkeeping was folded (one activity per record);
`histories/folded-<name>.json` after (patch `folded-bookkeeping`). Both sets must keep replaying
while runs of either kind may still be in flight.
"""

import base64
import json
import os
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.worker import Replayer

from mono.kernel import aead
from mono.temporal import sync
from mono.temporal.client import get_tenant_client, tenant_namespace
from mono.temporal.codec import NamespaceCodec, data_converter_for, is_encrypted
from tenants.keys import payload_key_get
from tenants.models import PayloadKey
from tests.support.payloads import history_payloads
from tests.workflows import graphs
from tests.workflows.conftest import open_approval_of, start, user, wait_result
from workflows.services import approvals, executions
from workflows.temporal.workflows import FOLDED_BOOKKEEPING, InterpreterWorkflow

HISTORIES = Path(__file__).parent / "histories"  # recorded before payloads were encrypted: plain
# Recorded with encryption on, with the throwaway data keys of the test run that made them.
ENCRYPTED = HISTORIES / "encrypted"


class RecordedKeys:
    """A key store holding the keys saved beside the encrypted histories (test data, no secret),
    and a throwaway key for what the replayed workflow encodes (its commands) without a database."""

    def __init__(self, keys: dict[str, str] | None = None):
        self._keys = {key_id: base64.urlsafe_b64decode(text) for key_id, text in (keys or {}).items()}
        self._keys["replay"] = aead.new_key()

    def current_key(self, namespace: str) -> tuple[str, bytes]:
        return "replay", self._keys["replay"]

    def key(self, namespace: str, key_id: str) -> bytes | None:
        return self._keys.get(key_id)


def replay(histories: list[WorkflowHistory], data_converter: DataConverter | None = None) -> None:
    """Replay with `data_converter` (the namespace's codec for encrypted histories; plain ones pass through it)."""

    async def run():
        replayer = Replayer(workflows=[InterpreterWorkflow], data_converter=data_converter or DataConverter.default)
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
    replay(list(histories.values()), data_converter_for(tenant_namespace(acme.pk)))
    if os.environ.get("RECORD_HISTORIES"):  # refresh the encrypted set: RECORD_HISTORIES=1 make test
        namespace = tenant_namespace(acme.pk)
        keys = {
            row.key_id: aead.encode_key(payload_key_get(namespace=namespace, key_id=row.key_id))
            for row in PayloadKey.objects.filter(namespace=namespace)
        }
        ENCRYPTED.mkdir(exist_ok=True)
        (ENCRYPTED / "keys.json").write_text(json.dumps({"namespace": namespace, "keys": keys}, indent=2) + "\n")
        for name, history in histories.items():
            (ENCRYPTED / f"{name}.json").write_text(history.to_json())


def test_recorded_histories_replay():
    """Histories from before encryption replay through the codec too: it passes plain payloads through."""
    recorded = sorted(HISTORIES.glob("*.json"))
    assert recorded, "no recorded histories"
    replay([WorkflowHistory.from_json(path.stem, path.read_text()) for path in recorded], codec_converter("mono-plain"))


def test_recorded_encrypted_histories_replay():
    saved = json.loads((ENCRYPTED / "keys.json").read_text())
    recorded = sorted(path for path in ENCRYPTED.glob("*.json") if path.name != "keys.json")
    assert recorded, "no recorded encrypted histories"
    histories = [WorkflowHistory.from_json(path.stem, path.read_text()) for path in recorded]
    payloads = [payload for history in histories for payload in history_payloads(history)]
    assert payloads and all(is_encrypted(payload) for payload in payloads)
    replay(histories, codec_converter(saved["namespace"], saved["keys"]))


def codec_converter(namespace: str, keys: dict[str, str] | None = None) -> DataConverter:
    """The data converter workers use, with the recorded keys instead of the database's."""
    codec = NamespaceCodec(namespace, store=RecordedKeys(keys))
    return DataConverter(payload_codec=codec, failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


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
    replay(list(old.values()) + list(new.values()), codec_converter("mono-plain"))
