"""Temporal as a tenant boundary, against the real dev server: what Temporal stores is ciphertext,
the codec endpoint decodes for the tenant's members only, keys rotate mid-run, and a payload
cannot move an activity into another tenant."""

import json
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client as DjangoClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError

from audit.models import AuditEvent
from llm.models import LLMUsage, ModelPrice
from mono.temporal import sync
from mono.temporal.client import connect, get_tenant_client, tenant_namespace
from mono.temporal.codec import KEY_ID, data_converter_for, is_encrypted
from mono.temporal.interceptors import TENANT_MISMATCH
from tenants import keys
from tenants import services as tenant_services
from tests.support.fake_llm import FakeLLMServer, Reply
from tests.support.payloads import history_payloads, raw_bytes
from tests.workflows import graphs
from tests.workflows.conftest import api_as, open_approval_of, start, user, wait_result
from workflows.models import ApprovalStatus, Record, StepExecution, WorkflowExecution
from workflows.services import approvals, definitions
from workflows.temporal.types import ApprovalVote, InterpreterInput

MARK = uuid.uuid4().hex[:10]
INPUT_MARKER, WEBHOOK_MARKER, LLM_MARKER, COMMENT_MARKER = (f"{kind}-{MARK}" for kind in ("in", "hook", "llm", "note"))
MARKERS = [INPUT_MARKER, WEBHOOK_MARKER, LLM_MARKER, COMMENT_MARKER]


class _Hook(BaseHTTPRequestHandler):
    calls: list = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.calls.append(self.path)
        body = json.dumps({"extracted": WEBHOOK_MARKER}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hook(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    _Hook.calls = []
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.fixture
def llm(settings, transactional_db):
    with FakeLLMServer() as server:
        settings.OPENAI_API_KEY = "test-key"
        settings.OPENAI_BASE_URL = server.openai_url
        settings.LLM_TIMEOUT_SECONDS = 5
        ModelPrice.objects.get_or_create(
            provider="openai",
            model="gpt-4o-mini",
            defaults={"input_per_million": Decimal("0.15"), "output_per_million": Decimal("0.60")},
        )
        yield server


def marker_graph(hook_url: str) -> dict:
    return graphs.graph(
        graphs.START,
        graphs.node("call", "WebhookNode", url=hook_url, body={"note": "{{ input.note }}"}),
        graphs.node(
            "ask",
            "LLMNode",
            provider="openai",
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Summarise {{ input.note }}"}],
        ),
        graphs.node("ok", "ApprovalNode", approvers=["approver"], quorum="any", message="Approve {{ input.note }}?"),
        graphs.record("yes", collection="approved", hook="{{ steps.call.body.extracted }}"),
        graphs.END,
        graphs.edge("start", "call"),
        graphs.edge("call", "ask"),
        graphs.edge("ask", "ok"),
        graphs.edge("ok", "yes", "approved"),
        graphs.edge("yes", "end"),
    )


def raw_history(execution):
    """The history as anyone with Temporal access (and no keys) fetches it: a client without codec."""

    async def fetch():
        base = await connect()
        plain = Client(base.service_client, namespace=tenant_namespace(execution.tenant_id))
        return await plain.get_workflow_handle(execution.id).fetch_history()

    return sync.run(fetch)


def codec_call(client, namespace: str, payloads: list, path: str = "decode", **headers):
    body = {"payloads": [json_format.MessageToDict(p) for p in payloads]}
    return client.post(
        f"/temporal-codec/{path}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_NAMESPACE=namespace,
        **headers,
    )


def logged_in(username: str) -> DjangoClient:
    client = DjangoClient()
    client.force_login(user(username))
    return client


def test_markers_reach_temporal_only_as_ciphertext_and_decode_for_members_only(workers, acme, globex, hook, llm):
    llm.script("openai", [Reply(LLM_MARKER)])
    namespace = tenant_namespace(acme.pk)
    execution = start(acme, marker_graph(hook), {"key": "k1", "note": INPUT_MARKER})
    approval = open_approval_of(execution)
    old_key = keys.payload_key_current(namespace=namespace)[0]
    keys.tenant_payload_key_rotate(tenant=acme)  # mid-run, while the run waits for its approval
    approvals.approval_decide(approval=approval, user=user("ada"), decision="approve", comment=COMMENT_MARKER)
    execution = wait_result(execution)
    assert execution.status == "completed"

    history = raw_history(execution)
    stored = raw_bytes(history)
    assert [marker for marker in MARKERS if marker.encode() in stored] == []
    payloads = history_payloads(history)
    assert payloads and all(is_encrypted(p) for p in payloads)
    new_key = keys.payload_key_current(namespace=namespace)[0]
    assert {p.metadata[KEY_ID].decode() for p in payloads} == {old_key, new_key}

    # Both keys decode: every marker comes back out of the history through the namespace's codec.
    decoded = sync.run(lambda: data_converter_for(namespace).payload_codec.decode(payloads))
    plain = b"".join(p.data for p in decoded)
    assert [marker for marker in MARKERS if marker.encode() not in plain] == []

    # The API shows plain values.
    shown = json.dumps(api_as(acme, "vic").get(f"/api/v1/executions/{execution.id}").json())
    assert INPUT_MARKER in shown and WEBHOOK_MARKER in shown and LLM_MARKER in shown
    assert approval.decisions.get().comment == COMMENT_MARKER
    assert Record.objects.for_tenant(acme).get(key="k1").fields == {"hook": WEBHOOK_MARKER}

    # The codec endpoint: a member decodes; another tenant's member and an anonymous caller get nothing.
    input_payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    as_member = codec_call(logged_in("vic"), namespace, [input_payload], HTTP_ORIGIN="http://127.0.0.1:8233")
    assert as_member.status_code == 200
    assert INPUT_MARKER in _decoded_text(as_member)
    assert as_member["Access-Control-Allow-Origin"] == "http://127.0.0.1:8233"
    as_stranger = codec_call(logged_in("gina"), namespace, [input_payload])
    anonymous = codec_call(DjangoClient(), namespace, [input_payload])
    assert (as_stranger.status_code, anonymous.status_code) == (403, 401)
    assert "payloads" not in as_stranger.json() and "payloads" not in anonymous.json()
    decodes = AuditEvent.objects.for_tenant(acme).filter(action="payloads.decoded")
    assert [(e.actor_label, e.data) for e in decodes] == [("vic", {"namespace": namespace, "payloads": 1})]


def test_interpreter_in_one_tenants_namespace_cannot_act_for_another(workers, acme, globex, hook, llm):
    definition = definitions.definition_create(tenant=globex, name="Victim", graph=marker_graph(hook))
    victim = WorkflowExecution.objects.create(tenant=globex, definition=definition, version=definition.latest_version)
    before = WorkflowExecution.objects.filter(pk=victim.pk).values().get()
    forged = InterpreterInput(globex.pk, victim.id, victim.version.plan, {"key": "stolen", "note": INPUT_MARKER})

    async def run_forged():
        client = await get_tenant_client(acme)
        return await client.execute_workflow("Interpreter", forged, id=f"forged-{MARK}", task_queue="workflows")

    with pytest.raises(WorkflowFailureError) as failure:
        sync.run(run_forged)
    cause = failure.value.cause
    # The refusal reaches the run through its activity (or, as the last bookkeeping is a local
    # activity, directly): either way it is the non-retryable mismatch.
    refusal = cause.cause if isinstance(cause, ActivityError) else cause
    assert isinstance(refusal, ApplicationError)
    assert refusal.type == TENANT_MISMATCH and refusal.non_retryable
    assert WorkflowExecution.objects.filter(pk=victim.pk).values().get() == before
    assert not StepExecution.objects.for_tenant(globex).exists()
    assert not Record.objects.for_tenant(globex).exists()
    assert not LLMUsage.objects.for_tenant(globex).exists()
    assert (_Hook.calls, llm.hits("openai")) == ([], 0)


def test_raw_update_from_outside_cannot_decide_for_a_non_approver(workers, acme):
    execution = start(acme, graphs.approval_graph(), {"key": "raw"})
    approval = open_approval_of(execution)

    async def vote_as(username: str):
        handle = (await get_tenant_client(acme)).get_workflow_handle(execution.id)
        return await handle.execute_update("decide", ApprovalVote("ok", username, "approve", "sneaky"))

    for outsider in ("vic", "mallory"):
        with pytest.raises(WorkflowUpdateFailedError):
            sync.run(lambda outsider=outsider: vote_as(outsider))
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING and not approval.decisions.exists()
    approvals.approval_decide(approval=approval, user=user("ada"), decision="approve")
    assert wait_result(execution).status == "completed"


def test_codec_endpoint_rules(acme, globex):
    namespace = tenant_namespace(acme.pk)
    payloads = sync.run(lambda: data_converter_for(namespace).payload_codec.encode([_json_payload(INPUT_MARKER)]))
    _, raw_key = tenant_services.api_key_create(tenant=acme, user=user("vic"), name="ui")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    response = codec_call(DjangoClient(), namespace, payloads, **bearer)
    assert response.status_code == 200 and INPUT_MARKER in _decoded_text(response)
    # The key's tenant only; the platform for staff only; a bad key is 401; no namespace is 400.
    assert codec_call(DjangoClient(), tenant_namespace(globex.pk), payloads, **bearer).status_code == 403
    assert codec_call(logged_in("vic"), "mono-platform", payloads).status_code == 403
    bad = {"HTTP_AUTHORIZATION": "Bearer mono_nope_nope"}
    assert codec_call(DjangoClient(), namespace, payloads, **bad).status_code == 401
    assert codec_call(logged_in("vic"), "", payloads).status_code == 400
    # Encoding makes input a worker accepts: a viewer may not, an editor may.
    assert codec_call(logged_in("vic"), namespace, [_json_payload("x")], "encode").status_code == 403
    encoded = codec_call(logged_in("erin"), namespace, [_json_payload(COMMENT_MARKER)], "encode")
    assert encoded.status_code == 200 and COMMENT_MARKER not in _decoded_text(encoded)
    assert COMMENT_MARKER in _decoded_text(codec_call(logged_in("vic"), namespace, _payloads(encoded)))
    # A preflight from the UI's origin is answered without credentials.
    preflight = DjangoClient().options(
        "/temporal-codec/decode",
        HTTP_ORIGIN="http://127.0.0.1:8233",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-namespace,content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "http://127.0.0.1:8233"
    assert "x-namespace" in preflight["Access-Control-Allow-Headers"]
    # Another origin gets no CORS grant, and may not use the session cookie.
    elsewhere = codec_call(logged_in("vic"), namespace, payloads, HTTP_ORIGIN="https://evil.example")
    assert elsewhere.status_code == 403 and not elsewhere.has_header("Access-Control-Allow-Origin")


def _json_payload(text: str):
    return data_converter_for("x").payload_converter.to_payload(text)


def _payloads(response) -> list[Payload]:
    return [json_format.ParseDict(p, Payload()) for p in response.json()["payloads"]]


def _decoded_text(response) -> str:
    return "".join(p.data.decode(errors="replace") for p in _payloads(response))
