"""Approval e-mails on real workers and Temporal: who is mailed, and what the signed links do."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from console.approval_links import approval_link_read
from tests.workflows import conftest as workflow_fixtures
from tests.workflows import graphs
from tests.workflows.conftest import open_approval_of, wait_result, wait_until
from workflows.models import ApprovalDecision
from workflows.services import definitions, executions

pytestmark = pytest.mark.django_db(transaction=True)

acme = workflow_fixtures.acme
workers = workflow_fixtures.workers


@pytest.fixture(autouse=True)
def fast_mail(settings):
    settings.EMAIL_RATE_PER_MINUTE = 6000  # read when the e-mail queue's worker starts
    settings.CONSOLE_BASE_URL = "https://mono.example.test"


def with_email(*usernames):
    for username in usernames:
        get_user_model().objects.filter(username=username).update(email=f"{username}@acme.test")


def run_as(tenant, username, graph, input=None):
    definition = definitions.definition_create(tenant=tenant, name="Expenses", graph=graph)
    starter = get_user_model().objects.get(username=username)
    return executions.execution_start(tenant=tenant, definition=definition, input=input or {}, actor=starter)


def mails_to(address: str, count: int = 1):
    return wait_until(lambda: len(found := [m for m in mail.outbox if m.to == [address]]) >= count and found,
                      timeout=30, what=f"mail to {address}")  # fmt: skip


def links(message) -> dict[str, str]:
    found = dict(re.findall(r"^(Approve|Reject): (\S+)$", message.body, re.MULTILINE))
    return {decision.lower(): url.removeprefix("https://mono.example.test") for decision, url in found.items()}


def test_each_eligible_approver_but_the_starter_is_mailed_the_message_run_and_links(workers, acme):
    with_email("alice", "erin", "ada")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["erin", "ada", "alice"]), {"key": "train"})
    approval = open_approval_of(execution)

    [message] = mails_to("ada@acme.test")
    mails_to("alice@acme.test")

    assert approval.eligible_usernames == ["ada", "alice"]
    assert message.subject == "Approval needed: Expenses"
    assert "Approve train?" in message.body
    assert execution.pk in message.body and "started by erin" in message.body
    claim = approval_link_read(token=links(message)["approve"].split("/")[-2])
    assert (claim.approval_id, claim.decision, claim.expired) == (approval.pk, "approve", False)
    assert not [m for m in mail.outbox if m.to == ["erin@acme.test"]]


def test_allow_starter_lets_the_starter_approve_their_own_run(workers, acme):
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["erin"], allowStarter=True), {"key": "k"})

    assert open_approval_of(execution).eligible_usernames == ["erin"]


def test_link_confirms_then_decides_through_the_workflow_and_works_once(workers, acme):
    with_email("ada")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["ada"]), {"key": "k"})
    approve = links(mails_to("ada@acme.test")[0])["approve"]
    browser = Client()

    confirm = browser.get(approve)
    assert confirm.status_code == 200 and "Confirm approval" in confirm.content.decode()
    assert not ApprovalDecision.objects.exists()  # opening the link decides nothing

    done = browser.post(approve, {"comment": "Fine"})

    assert done.status_code == 200 and "Approved" in done.content.decode()
    assert wait_result(execution).status == "completed"
    decision = ApprovalDecision.objects.get()
    assert (decision.user.username, decision.decision, decision.comment) == ("ada", "approve", "Fine")
    used = browser.get(approve)
    assert used.status_code == 410 and "This link has been used" in used.content.decode()
    assert browser.post(approve, {"comment": "again"}).status_code == 410


def test_a_forged_or_altered_link_is_refused(workers, acme):
    with_email("ada")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["ada"]), {"key": "k"})
    approve = links(mails_to("ada@acme.test")[0])["approve"]
    token = approve.split("/")[-2]

    altered = Client().get(approve.replace(token, token[:-3] + ("aaa" if token[-3:] != "aaa" else "bbb")))
    forged = Client().post("/approvals/link/not-a-token/", {"comment": ""})

    assert altered.status_code == 404 and forged.status_code == 404
    assert "This link is not valid" in altered.content.decode()
    assert not ApprovalDecision.objects.exists()
    assert open_approval_of(execution).status == "pending"


def test_a_link_past_its_ttl_needs_its_addressee_to_sign_in(workers, acme, settings):
    with_email("ada")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["ada"]), {"key": "k"})
    reject = links(mails_to("ada@acme.test")[0])["reject"]
    settings.APPROVAL_LINK_TTL_SECONDS = -1  # every link is now past its TTL

    anonymous = Client().get(reject)
    someone_else = Client()
    someone_else.force_login(get_user_model().objects.get(username="alice"))
    addressee = Client()
    addressee.force_login(get_user_model().objects.get(username="ada"))

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/?next=%2Fapprovals%2Flink%2F")
    assert someone_else.get(reject).status_code == 403
    assert addressee.post(reject, {"comment": "No"}).status_code == 200
    assert wait_result(execution).status == "failed"  # the rejected branch ends the run as failed


def test_a_link_is_refused_once_its_addressee_has_left_the_tenant(workers, acme):
    from tenants.models import Membership

    with_email("ada")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["ada"]), {"key": "k"})
    approve = links(mails_to("ada@acme.test")[0])["approve"]
    Membership.objects.for_tenant(acme).filter(user__username="ada").delete()

    assert Client().get(approve).status_code == 404
    assert open_approval_of(execution).status == "pending"


def test_a_reminder_before_the_timeout_reaches_only_those_who_have_not_voted(workers, acme, settings):
    from temporalio.client import WorkflowExecutionStatus

    from mono.temporal import sync
    from mono.temporal.client import get_tenant_client
    from workflows.services import approvals

    settings.APPROVAL_REMINDER_BEFORE_SECONDS = 110  # the approval times out in 120 s: remind after ~10 s
    with_email("ada", "alice")
    graph = graphs.approval_graph(approvers=["ada", "alice"], quorum="all", timeout="PT2M")
    execution = run_as(acme, "erin", graph, {"key": "k"})
    mails_to("ada@acme.test")
    approvals.approval_decide(approval=open_approval_of(execution), user=get_user_model().objects.get(username="ada"),
                              decision="approve")  # fmt: skip

    [reminder] = [m for m in mails_to("alice@acme.test", count=2) if m.subject.startswith("Reminder")]

    assert reminder.subject == "Reminder: Approval needed: Expenses"
    assert "Approve: " in reminder.body
    assert [m.subject for m in mail.outbox if m.to == ["ada@acme.test"]] == ["Approval needed: Expenses"]

    approval = open_approval_of(execution)

    async def reminder_status():
        client = await get_tenant_client(acme.pk)
        return (await client.get_workflow_handle(f"approval-reminder-{approval.pk}").describe()).status

    assert sync.run(reminder_status) == WorkflowExecutionStatus.COMPLETED


def test_no_reminder_when_the_timeout_leaves_no_room_for_one(workers, acme, settings):
    settings.APPROVAL_REMINDER_BEFORE_SECONDS = 3600
    with_email("ada")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["ada"], timeout="PT30M"), {"key": "k"})
    approval = open_approval_of(execution)
    mails_to("ada@acme.test")

    from console.approval_mail import approval_reminder_schedule

    assert approval_reminder_schedule(approval=approval) is False
