"""Tenant members in a real browser (headless Chromium against uvicorn, real workers and Temporal):
a non-staff approver signs in on the console's own page and decides from the inbox or from the
e-mail link; used and forged links are refused; a viewer sees no edit controls; another tenant's
run and approval answer 404."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import expect

from tenants.selectors import active_tenant_refs
from tests.console.conftest import VIEWPORT, screenshot
from tests.llm import conftest as llm_fixtures
from tests.workflows import conftest as workflow_fixtures
from tests.workflows import graphs
from tests.workflows.conftest import open_approval_of, wait_result, wait_until
from workflows.models import ApprovalDecision
from workflows.services import definitions, executions

pytestmark = pytest.mark.django_db(transaction=True)

acme = workflow_fixtures.acme
globex = workflow_fixtures.globex
fake_llm = llm_fixtures.fake_llm
PASSWORD = "a long and private passphrase"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def mail_settings(settings, live_server_url):
    settings.EMAIL_RATE_PER_MINUTE = 6000  # read when the e-mail queue's worker starts
    settings.CONSOLE_BASE_URL = live_server_url  # links in approval mails lead to this server


def member(username: str):
    """The fixture's user, given a password and an address; never staff."""
    user = get_user_model().objects.get(username=username)
    user.set_password(PASSWORD)
    user.email = f"{username}@acme.test"
    user.is_staff = False
    user.save()
    return user


def run_as(tenant, username: str, graph: dict, input: dict, name: str = "Expenses"):
    definition = definitions.definition_create(tenant=tenant, name=name, graph=graph)
    starter = get_user_model().objects.get(username=username)
    return executions.execution_start(tenant=tenant, definition=definition, input=input, actor=starter)


@pytest.fixture
def visitor(browser, live_server_url):
    """`visitor(viewport)`: a page with no session at all."""
    contexts = []

    def open_page(viewport=VIEWPORT):
        context = browser.new_context(viewport=viewport, base_url=live_server_url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, username: str, path: str = "/") -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_non_staff_approver_signs_in_decides_in_the_inbox_and_the_run_completes(visitor, acme, start_workers):
    start_workers(tenant_source=active_tenant_refs)
    member("ada")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["approver"]), {"key": "a new laptop"})
    approval = open_approval_of(execution)
    page = visitor()

    page.goto("/inbox/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("correct username and password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/inbox/$"))
    item = page.get_by_test_id("inbox-waiting").locator(f'li[data-approval="{approval.pk}"]')
    expect(item).to_contain_text("Approve a new laptop?")
    expect(item).to_contain_text(execution.pk)
    item.get_by_label("Comment").fill("Go ahead")
    # Keyboard only: the Approve button is reached with Tab and pressed with Enter, focus visible.
    item.get_by_label("Comment").press("Tab")
    expect(item.get_by_role("button", name="Approve")).to_be_focused()
    screenshot(page, "inbox")
    page.keyboard.press("Enter")

    decided = page.get_by_test_id("inbox-decided").locator(f'li[data-approval="{approval.pk}"]')
    expect(decided).to_contain_text("you approved")
    expect(decided).to_contain_text("Go ahead")
    expect(page.get_by_test_id("inbox-waiting").locator("li.inbox-item")).to_have_count(0)
    assert wait_result(execution).status == "completed"
    page.reload()
    expect(decided.locator(".run-status")).to_have_text("approved")
    screenshot(page, "inbox-decided")
    phone = visitor(PHONE)
    sign_in(phone, "ada", "/inbox/")
    expect(phone.get_by_test_id("inbox-decided").locator("li.inbox-item")).to_have_count(1)
    screenshot(phone, "inbox-phone")


def test_approver_decides_from_the_email_link_and_the_link_then_refuses(visitor, acme, start_workers):
    start_workers(tenant_source=active_tenant_refs)
    member("ada")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["ada"]), {"key": "the offsite"})
    message = wait_until(lambda: next((m for m in mail.outbox if m.to == ["ada@acme.test"]), None), timeout=30)
    approve_url = re.search(r"^Approve: (\S+)$", message.body, re.MULTILINE).group(1)
    page = visitor()

    page.goto(approve_url)
    expect(page.get_by_role("heading", name="Approve this request?")).to_be_visible()
    expect(page.get_by_test_id("approval-message")).to_have_text("Approve the offsite?")
    page.get_by_label("Comment (optional)").fill("From my phone")
    screenshot(page, "approval-link")
    page.get_by_role("button", name="Confirm approval").click()

    expect(page.get_by_test_id("link-done")).to_have_text("Approved")
    screenshot(page, "approval-link-done")
    assert wait_result(execution).status == "completed"
    assert ApprovalDecision.objects.get().comment == "From my phone"

    page.goto(approve_url)
    expect(page.get_by_test_id("link-refused")).to_have_text("This link has been used")
    screenshot(page, "approval-link-used")
    response = page.goto(approve_url[:-6] + "XXXXX/")
    assert response.status == 404
    expect(page.get_by_test_id("link-refused")).to_have_text("This link is not valid")
    screenshot(page, "approval-link-forged")


def test_viewer_sees_no_edit_controls(visitor, acme, start_workers):
    start_workers(tenant_source=active_tenant_refs)
    member("vic")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["ada"]), {"key": "k"})
    open_approval_of(execution)
    page = visitor()
    sign_in(page, "vic")

    expect(page.get_by_role("heading", name="Recent runs")).to_be_visible()
    expect(page.get_by_role("link", name="New workflow")).to_have_count(0)
    expect(page.get_by_role("link", name="Inbox")).to_have_count(0)
    page.goto(f"/workflows/{execution.definition_id}/edit")
    expect(page.get_by_test_id("read-only")).to_contain_text("viewer")
    expect(page.locator(".react-flow__node")).to_have_count(5)
    for name in ("Save", "Undo", "Import", "Layout"):
        expect(page.get_by_role("button", name=re.compile(name))).to_have_count(0)
    expect(page.locator(".palette")).to_have_count(0)
    page.locator('.react-flow__node[data-id="ok"]').click()
    expect(page.get_by_role("button", name="Delete node")).to_have_count(0)
    screenshot(page, "editor-viewer")
    page.goto(f"/executions/{execution.pk}/")
    expect(page.get_by_test_id("run-status")).to_have_text("running")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    screenshot(page, "monitor-viewer")


def test_another_tenants_run_and_approval_answer_404_in_the_browser(visitor, acme, globex, start_workers):
    start_workers(tenant_source=active_tenant_refs)
    member("gina")
    execution = run_as(acme, "erin", graphs.approval_graph(approvers=["ada"]), {"key": "k"})
    approval = open_approval_of(execution)
    page = visitor()
    sign_in(page, "gina")
    expect(page.get_by_role("heading", name="Recent runs")).to_be_visible()

    assert page.goto(f"/executions/{execution.pk}/").status == 404
    assert page.goto(f"/workflows/{execution.definition_id}/edit").status == 404
    screenshot(page, "foreign-run-404")
    headers = {"X-Tenant": "globex"}
    assert page.request.get(f"/api/v1/approvals/{approval.pk}", headers=headers).status == 404
    assert page.request.get(f"/api/v1/executions/{execution.pk}", headers=headers).status == 404
    assert page.goto("/?tenant=acme").status == 403


def test_runs_page_filters_cancels_in_bulk_and_reruns_with_the_same_input(visitor, acme, start_workers):
    start_workers(tenant_source=active_tenant_refs)
    member("erin")
    graph = graphs.approval_graph(approvers=["ada"])
    waiting = [run_as(acme, "erin", graph, {"key": f"k{n}"}, name=f"Trip {n}") for n in (1, 2)]
    definitions.definition_update(definition=waiting[0].definition, actor=None, tags=["travel"])
    for execution in waiting:
        open_approval_of(execution)
    page = visitor()
    sign_in(page, "erin", "/runs/")

    table = page.get_by_test_id("runs-table")
    expect(table.locator("tbody tr[data-run]")).to_have_count(2)
    page.get_by_label("Workflow").select_option(label="Trip 1")
    expect(table.locator("tbody tr[data-run]")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/runs/\?workflow=\d+$"))
    page.get_by_label("Workflow").select_option(label="all")
    page.get_by_label("Trigger").select_option("manual")
    page.get_by_label("Started by").fill("erin")
    expect(table.locator("tbody tr[data-run]")).to_have_count(2)
    for execution in waiting:
        page.get_by_label(f"Select {execution.pk}").check()
    screenshot(page, "runs")
    page.get_by_role("button", name="Cancel selected (2)").click()

    expect(page.get_by_role("status")).to_contain_text("Cancel requested for 2 run(s)")
    for execution in waiting:
        assert wait_result(execution).status == "cancelled"
    page.reload()
    expect(table.locator(".run-status", has_text="cancelled")).to_have_count(2)
    table.locator(f'tr[data-run="{waiting[0].pk}"]').get_by_role("button", name="Re-run").click()
    page.wait_for_url(re.compile(r"/executions/execution-[0-9a-f]+/$"))
    rerun_id = page.url.rstrip("/").rsplit("/", 1)[1]
    from workflows.models import WorkflowExecution

    assert WorkflowExecution.objects.for_tenant(acme).get(pk=rerun_id).input == {"key": "k1"}

    page.goto("/workflows/")
    page.get_by_label("Tag").fill("travel")
    expect(page.get_by_test_id("workflows-table").locator("tbody tr[data-workflow]")).to_have_count(1)
    screenshot(page, "workflows")
    page.get_by_role("link", name="Trip 1").click()
    expect(page.get_by_test_id("versions").locator("li")).to_have_count(1)
    expect(page.get_by_test_id("runs-table").locator("tbody tr[data-run]")).to_have_count(2)
    screenshot(page, "workflow")


def test_usage_page_charts_the_runs_and_llm_calls_made_here(visitor, acme, start_workers, fake_llm):
    from decimal import Decimal

    from llm import services as llm_services
    from llm.models import LLMUsage, ModelPrice

    ModelPrice.objects.get_or_create(
        provider="openai", model="gpt-4o-mini",
        defaults={"input_per_million": Decimal("150"), "output_per_million": Decimal("600")},
    )  # fmt: skip
    llm_services.limit_policy_save(tenant=acme, provider="openai", monthly_budget=Decimal("5"))
    start_workers(tenant_source=active_tenant_refs)
    member("alice")
    prompt = [{"role": "user", "content": "{{ input.text }}"}]
    summarise = graphs.graph(
        graphs.START, graphs.node("ask", "LLMNode", route="openai:gpt-4o-mini", messages=prompt),
        graphs.END, graphs.edge("start", "ask"), graphs.edge("ask", "end"),
    )  # fmt: skip
    summary = definitions.definition_create(tenant=acme, name="Summarise", graph=summarise)
    records = definitions.definition_create(tenant=acme, name="Records", graph=graphs.approval_graph(approvers=["ada"]))
    alice = get_user_model().objects.get(username="alice")
    for text in ("one two three", "four five six seven eight"):
        run = executions.execution_start(tenant=acme, definition=summary, input={"text": text}, actor=alice)
        assert wait_result(run).status == "completed", run.error
    waiting = executions.execution_start(tenant=acme, definition=records, input={"key": "k"}, actor=alice)
    open_approval_of(waiting)
    usage = list(LLMUsage.objects.for_tenant(acme))
    assert len(usage) == 2 and all(row.cost > 0 for row in usage)
    tokens = sum(row.input_tokens + row.output_tokens for row in usage)
    cost = sum(row.cost for row in usage)
    page = visitor()
    sign_in(page, "alice", "/usage/")

    for chart in ("chart-runs", "chart-durations", "chart-tokens", "chart-cost", "chart-budgets", "chart-top"):
        expect(page.get_by_test_id(chart).locator("canvas[data-drawn]")).to_be_visible()
    screenshot(page, "usage")
    for details in page.locator("details").all():
        details.locator("summary").click()
    today = wait_result(run).created_at.date().isoformat()
    runs = page.get_by_test_id("chart-runs").locator("tbody")
    expect(runs).to_contain_text(f"{today}completed2")
    expect(runs).to_contain_text(f"{today}running1")
    expect(page.get_by_test_id("chart-durations").locator("tbody")).to_contain_text("Summarise2")
    expect(page.get_by_test_id("chart-tokens").locator("tbody")).to_contain_text(f"{today}openai:gpt-4o-mini2{tokens}")
    expect(page.get_by_test_id("chart-cost").locator("tbody")).to_contain_text(f"openai:gpt-4o-mini{cost.normalize()}")
    expect(page.get_by_test_id("chart-budgets").locator("tbody")).to_contain_text("openai")
    expect(page.get_by_test_id("chart-budgets").locator("tbody")).to_contain_text("5.0000")
    expect(page.get_by_test_id("chart-top").locator("tbody")).to_contain_text(f"Summarise2{tokens}")
    assert int(page.get_by_test_id("chart-runs").locator("canvas").get_attribute("data-drawn")) >= 2
