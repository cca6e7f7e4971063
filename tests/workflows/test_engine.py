"""The interpreter on a real Temporal server with real workers and PostgreSQL."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from tests.workflows import graphs
from tests.workflows.conftest import start, user, wait_result, wait_until
from workflows.models import ApprovalRequest, Record, StepExecution
from workflows.services import approvals, definitions, executions


def steps_of(execution) -> dict[str, str]:
    return dict(
        StepExecution.objects.for_tenant(execution.tenant_id)
        .filter(execution=execution)
        .values_list("node_id", "status")
    )


def test_email_node_sends_rendered_mail(workers, acme):
    execution = wait_result(start(acme, graphs.LINEAR_EMAIL, {"email": "bo@example.test", "name": "Bo"}))
    assert execution.status == "completed"
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [(["bo@example.test"], "Hi Bo", "Welcome Bo")]
    assert steps_of(execution) == {"start": "completed", "mail": "completed", "end": "completed"}
    assert execution.run_id and execution.started_at and execution.finished_at


@pytest.mark.parametrize(("amount", "taken", "skipped"), [(500, "high", "low"), (5, "low", "high")])
def test_decision_takes_one_branch_and_join_after_it_runs(workers, acme, amount, taken, skipped):
    execution = wait_result(start(acme, graphs.DECISION_THEN_JOIN, {"amount": amount, "key": "k1"}))
    assert execution.status == "completed"
    steps = steps_of(execution)
    assert (steps[taken], steps[skipped], steps["join"], steps["end"]) == (
        "completed",
        "skipped",
        "completed",
        "completed",
    )
    assert Record.objects.for_tenant(acme).get(collection="results", key="k1").fields == {"level": taken}
    assert Record.objects.for_tenant(acme).filter(collection="joined").count() == 1


def test_parallel_branches_both_run_and_join_once(workers, acme):
    execution = wait_result(start(acme, graphs.PARALLEL, {"key": "p"}))
    assert execution.status == "completed"
    assert execution.output == "left+right"
    assert steps_of(execution) == {"start": "completed", "left": "completed", "right": "completed", "end": "completed"}


def test_record_writes_stay_in_their_tenant(start_workers, acme, globex):
    from tenants.selectors import active_tenant_refs

    start_workers(tenant_source=active_tenant_refs)
    Record.objects.create(tenant=globex, collection="results", key="shared", fields={"owner": "globex"})
    write = graphs.graph(
        graphs.START, graphs.record("w", owner="acme"), graphs.END, graphs.edge("start", "w"), graphs.edge("w", "end")
    )
    wait_result(start(acme, write, {"key": "shared"}))
    assert Record.objects.for_tenant(globex).get(key="shared").fields == {"owner": "globex"}
    assert Record.objects.for_tenant(acme).get(key="shared").fields == {"owner": "acme"}


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((self.path, dict(self.headers), json.loads(body)))
        payload = json.dumps({"extracted": "text"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    _Receiver.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_webhook_node_calls_local_server_signed_and_result_feeds_next_step(workers, acme, receiver):
    graph = graphs.graph(
        graphs.START,
        graphs.node("call", "WebhookNode", url=receiver + "/hook", body={"id": "{{ input.key }}"}, sign=True),
        graphs.record("store", result="{{ steps.call.body.extracted }}"),
        graphs.END,
        graphs.edge("start", "call"),
        graphs.edge("call", "store"),
        graphs.edge("store", "end"),
    )
    execution = wait_result(start(acme, graph, {"key": "doc-1"}))
    assert execution.status == "completed"
    path, headers, body = _Receiver.received[0]
    assert (path, body) == ("/hook", {"id": "doc-1"})
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= {h.lower() for h in headers}
    assert Record.objects.for_tenant(acme).get(key="doc-1").fields == {"result": "text"}


def test_webhook_to_private_address_fails_the_run_naming_the_step(workers, acme):
    graph = graphs.graph(
        graphs.START, graphs.node("call", "WebhookNode", url="http://169.254.169.254/latest/meta-data"), graphs.END,
        graphs.edge("start", "call"), graphs.edge("call", "end"),
    )  # fmt: skip
    execution = wait_result(start(acme, graph))
    assert execution.status == "failed"
    assert "call" in execution.error and "WebhookNode" in execution.error
    assert steps_of(execution)["call"] == "failed"


def open_approval(execution) -> ApprovalRequest:
    return wait_until(
        lambda: ApprovalRequest.objects.for_tenant(execution.tenant_id).filter(execution=execution).first(),
        what="approval",
    )


@pytest.mark.parametrize(
    ("decision", "status", "branch"), [("approve", "completed", "yes"), ("reject", "failed", "no")]
)
def test_approval_decision_routes_the_run(workers, acme, decision, status, branch):
    execution = start(acme, graphs.approval_graph(), {"key": "a"})
    approval = open_approval(execution)
    assert approval.eligible_usernames == ["ada"]
    approvals.approval_decide(approval=approval, user=user("ada"), decision=decision, comment="looks fine")
    execution = wait_result(execution)
    assert execution.status == status
    assert steps_of(execution)[branch] == "completed"
    approval.refresh_from_db()
    assert approval.status == ("approved" if decision == "approve" else "rejected")
    assert list(approval.decisions.values_list("user__username", "decision", "comment")) == [
        ("ada", decision, "looks fine")
    ]


def test_rejection_without_a_rejected_branch_ends_the_run_rejected(workers, acme):
    execution = start(acme, graphs.approval_graph(rejected_edge=False), {"key": "a"})
    approvals.approval_decide(approval=open_approval(execution), user=user("ada"), decision="reject")
    assert wait_result(execution).status == "rejected"


def test_non_approver_and_second_vote_are_refused(workers, acme):
    from mono.errors import Conflict, PermissionDenied

    execution = start(acme, graphs.approval_graph(approvers=("ada", "erin"), quorum="all"), {"key": "a"})
    approval = open_approval(execution)
    with pytest.raises(PermissionDenied):
        approvals.approval_decide(approval=approval, user=user("vic"), decision="approve")
    approvals.approval_decide(approval=approval, user=user("ada"), decision="approve")
    with pytest.raises(Conflict):
        approvals.approval_decide(approval=approval, user=user("ada"), decision="approve")
    approvals.approval_decide(approval=approval, user=user("erin"), decision="approve")
    assert wait_result(execution).status == "completed"


def test_short_wait_is_a_durable_timer(workers, acme):
    execution = wait_result(start(acme, graphs.wait_graph(duration="PT1S")))
    assert execution.status == "completed"
    assert (execution.finished_at - execution.started_at).total_seconds() >= 1


def test_cancel_while_waiting_for_approval(workers, acme):
    execution = start(acme, graphs.approval_graph(), {"key": "a"})
    approval = open_approval(execution)
    executions.execution_cancel(execution=execution)
    execution = wait_result(execution)
    assert execution.status == "cancelled"
    approval.refresh_from_db()
    assert approval.status == "cancelled"


def test_running_execution_keeps_its_version(workers, acme):
    definition = definitions.definition_create(tenant=acme, name="Pinned", graph=graphs.approval_graph())
    first = executions.execution_start(tenant=acme, definition=definition, input={"key": "v1"})
    open_approval(first)
    definitions.definition_update(definition=definition, graph=graphs.LINEAR_EMAIL)
    second = executions.execution_start(
        tenant=acme, definition=definition, input={"email": "x@example.test", "name": "X"}
    )
    assert wait_result(second).version.number == 2
    approvals.approval_decide(approval=open_approval(first), user=user("ada"), decision="approve")
    first = wait_result(first)
    assert (first.version.number, first.status) == (1, "completed")
    assert "ok" in steps_of(first)


def model_update_graph(**data) -> dict:
    update = graphs.node("update", "UpdateRecordNode", model="workflows.emailtemplate", key="{{ input.pk }}", **data)
    return graphs.graph(graphs.START, update, graphs.END, graphs.edge("start", "update"), graphs.edge("update", "end"))


def test_allow_listed_model_field_is_updated_in_own_tenant_only(workers, acme, globex):
    from workflows.models import EmailTemplate

    own = EmailTemplate.objects.create(tenant=acme, name="welcome", subject="Hi", body="Old")
    foreign = EmailTemplate.objects.create(tenant=globex, name="welcome", subject="Hi", body="Theirs")
    done = wait_result(start(acme, model_update_graph(fields={"body": "New {{ input.pk }}"}), {"pk": own.pk}))
    assert done.status == "completed"
    own.refresh_from_db()
    assert own.body == f"New {own.pk}"

    refused = wait_result(start(acme, model_update_graph(fields={"body": "Hijacked"}), {"pk": foreign.pk}))
    assert refused.status == "failed" and "does not exist in this tenant" in refused.error
    foreign.refresh_from_db()
    assert foreign.body == "Theirs"


def test_field_outside_the_allow_list_fails_the_step(workers, acme):
    from workflows.models import EmailTemplate

    template = EmailTemplate.objects.create(tenant=acme, name="welcome", subject="Hi", body="Old")
    failed = wait_result(start(acme, model_update_graph(fields={"name": "renamed"}), {"pk": template.pk}))
    assert failed.status == "failed" and "may not be updated" in failed.error
    template.refresh_from_db()
    assert template.name == "welcome"


def test_stored_email_template_is_rendered(workers, acme):
    from workflows.models import EmailTemplate

    EmailTemplate.objects.create(
        tenant=acme, name="welcome", subject="Welcome {{ input.name }}", body="Hello {{ input.name }}"
    )
    graph = graphs.graph(
        graphs.START, graphs.node("mail", "EmailNode", template="welcome", to="{{ input.email }}"), graphs.END,
        graphs.edge("start", "mail"), graphs.edge("mail", "end"),
    )  # fmt: skip
    assert wait_result(start(acme, graph, {"name": "Ann", "email": "ann@example.test"})).status == "completed"
    assert [(m.subject, m.body) for m in mail.outbox] == [("Welcome Ann", "Hello Ann")]


def test_wait_until_a_datetime_from_the_input(workers, acme):
    from datetime import UTC, datetime, timedelta

    at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    execution = wait_result(start(acme, graphs.wait_graph(until="{{ input.at }}"), {"at": at}))
    assert execution.status == "completed"
    assert execution.finished_at >= datetime.fromisoformat(at)
