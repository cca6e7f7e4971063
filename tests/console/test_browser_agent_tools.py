"""An agent node's tools edited in the side panel, in a real browser: a webhook tool and a workflow
tool are added, a bad parameters schema is refused inline while the last valid one is kept, the
server's problem for a tool field shows next to that field, and the saved graph carries the tools."""

import re

import pytest
from playwright.sync_api import expect

from tests.console.conftest import screenshot
from tests.workflows import conftest as workflow_fixtures
from tests.workflows import graphs
from tests.workflows.conftest import user
from workflows.models import WorkflowDefinition
from workflows.services import definitions

pytestmark = pytest.mark.django_db(transaction=True)

acme = workflow_fixtures.acme


def open_agent(page, definition):
    """The editor on `definition` with its agent node selected (once the first check is done, so the
    canvas has settled where it is drawn)."""
    page.goto(f"/workflows/{definition.pk}/edit")
    expect(page.get_by_test_id("validity")).to_have_text("✓ valid")
    page.locator('.react-flow__node[data-id="agent"]').click()
    form = page.locator('.node-form[data-node-id="agent"]')
    expect(form).to_be_visible()
    return form


def agent_definition(tenant):
    agent = graphs.node("agent", "AgentNode", route="openai:gpt-4o-mini", prompt="Stock of {{ input.sku }}?")
    graph = graphs.graph(graphs.START, agent, graphs.END, graphs.edge("start", "agent"), graphs.edge("agent", "end"))
    return definitions.definition_create(tenant=tenant, name="Stock agent", graph=graph)


def test_agent_tools_are_added_checked_inline_and_saved(page_as, acme):
    lookup = definitions.definition_create(
        tenant=acme,
        name="Stock lookup",
        graph=graphs.graph(graphs.START, graphs.END, graphs.edge("start", "end")),
    )
    definition = agent_definition(acme)
    page = page_as(user("alice"))
    form = open_agent(page, definition)
    expect(form.get_by_text("No tools: the agent only answers.")).to_be_visible()

    form.get_by_role("button", name="+ tool").click()
    first = form.locator('[data-tool-index="0"]')
    # A name the validator refuses: its problem comes back from the server next to the name field.
    first.get_by_label("Name").fill("check stock!")
    name_problem = first.locator('[data-field="tools[0].name"]')
    expect(name_problem).to_contain_text("tools[0].name must match")
    expect(first.get_by_label("Name")).to_have_class(re.compile("invalid"))
    # A new webhook tool has no URL yet: said under the URL field.
    expect(first.locator('[data-field="tools[0].action.url"]')).to_contain_text("is required")
    first.get_by_label("Name").fill("check_stock")
    expect(name_problem).to_have_count(0)
    first.get_by_label("Description").fill("Stock level of a SKU")
    parameters = first.locator('[name="tools[0].parameters"]')
    parameters.fill('{"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}')
    first.get_by_label("URL").fill("https://stock.example.com/{{ input.sku }}")
    first.get_by_label("Method").select_option("GET")
    first.locator('[name="tools[0].action.headers"]').fill('{"X-Source": "mono"}')
    first.get_by_label("Sign (Standard Webhooks)").check()

    form.get_by_role("button", name="+ tool").click()
    second = form.locator('[data-tool-index="1"]')
    second.get_by_label("Name").fill("reorder")
    second.get_by_label("Description").fill("Places a restocking order")
    second_parameters = second.locator('[name="tools[1].parameters"]')
    second_parameters.fill('{"type": "object", "properties": {"qty": {"type": "integer"}}}')
    # Text that does not parse is flagged where it is typed; the last valid schema is what is kept.
    second_parameters.fill('{"type": "object", "properties": ')
    expect(second.locator(".field-problem", has_text="not valid JSON")).to_be_visible()
    second.get_by_label("Action").select_option("workflow")
    expect(second.locator('[data-field="tools[1].action.workflow"]')).to_contain_text("workflow definition id")
    second.get_by_label("Workflow").select_option(label="Stock lookup")
    expect(page.get_by_test_id("validity")).to_have_text("✓ valid")
    screenshot(page, "editor-agent-tools")

    # Reordering moves a tool with its fields (the typed JSON included) and back again.
    form.get_by_role("button", name="Move tool 2 up").click()
    expect(form.locator('[data-tool-index="0"] [name="tools[0].name"]')).to_have_value("reorder")
    form.get_by_role("button", name="Move tool 1 down").click()
    expect(form.locator('[data-tool-index="0"] [name="tools[0].name"]')).to_have_value("check_stock")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as version 2")
    saved = WorkflowDefinition.objects.for_tenant(acme).get(pk=definition.pk).latest_version.graph
    agent = next(n for n in saved["nodes"] if n["id"] == "agent")
    assert agent["data"]["tools"] == [
        {
            "name": "check_stock",
            "description": "Stock level of a SKU",
            "parameters": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]},
            "action": {
                "type": "webhook",
                "url": "https://stock.example.com/{{ input.sku }}",
                "method": "GET",
                "headers": {"X-Source": "mono"},
                "sign": True,
            },
        },
        {
            "name": "reorder",
            "description": "Places a restocking order",
            "parameters": {"type": "object", "properties": {"qty": {"type": "integer"}}},
            "action": {"type": "workflow", "workflow": lookup.pk},
        },
    ]
    assert page.console_errors == []


def test_tools_can_be_removed_and_the_panel_fits_a_phone(page_as, acme):
    definition = agent_definition(acme)
    page = page_as(user("alice"))
    form = open_agent(page, definition)
    page.set_viewport_size({"width": 390, "height": 844})
    form.get_by_role("button", name="+ tool").click()
    form.get_by_role("button", name="+ tool").click()
    expect(form.locator("[data-tool-index]")).to_have_count(2)
    # Keyboard only: focus the first tool's remove button and press Enter.
    remove = form.get_by_role("button", name="Remove tool 1")
    remove.focus()
    page.keyboard.press("Enter")
    expect(form.locator("[data-tool-index]")).to_have_count(1)
    expect(form.locator('[name="tools[0].name"]')).to_have_value("tool_2")
    url = form.locator('[name="tools[0].action.url"]')
    url.focus()
    box = url.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    screenshot(page, "editor-agent-tools-390")
