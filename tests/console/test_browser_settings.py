"""Webhooks and tenant settings in a real browser: an integration's secret is shown once and signs
real deliveries, whose payload can be previewed and replayed; another tenant's integration is 404;
owners manage members, API keys, retention, provider keys and LLM limits; viewers cannot."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from llm.models import LimitPolicy, ProviderCredential
from tenants.models import ApiKey, Membership
from tenants.selectors import active_tenant_refs
from tenants.services import membership_add, tenant_create
from tests.console import test_browser_members as member_fixtures
from tests.console.conftest import screenshot
from tests.console.test_browser_members import member, sign_in
from tests.webhooks.conftest import payload, signed_headers, webhook_workflow
from tests.workflows import conftest as workflow_fixtures
from tests.workflows.conftest import wait_until
from webhooks.models import WebhookEvent
from workflows.models import EmailTemplate

pytestmark = pytest.mark.django_db(transaction=True)

acme = workflow_fixtures.acme
globex = workflow_fixtures.globex
visitor = member_fixtures.visitor


def deliver(page, url: str, secret: str, order: str) -> int:
    """POST a signed delivery to the live server (the process that keeps the integration's secrets)."""
    body = payload(order=order)
    headers = {**signed_headers(secret, body), "Content-Type": "application/json"}
    return page.request.post(url, data=body, headers=headers).status


def test_integration_secret_shown_once_signs_deliveries_that_can_be_previewed_and_replayed(
    visitor, acme, globex, start_workers
):
    start_workers(tenant_source=active_tenant_refs)
    member("erin")
    webhook_workflow(acme, name="On order")
    page = visitor()
    sign_in(page, "erin", "/webhooks/")

    page.get_by_label("Name").fill("Shop")
    page.get_by_label("Starts workflow").select_option(label="On order")
    page.get_by_role("button", name="Create integration").click()
    once = page.get_by_test_id("secret-once")
    expect(once).to_contain_text("shown only now")
    secret = once.locator("code").inner_text()
    screenshot(page, "webhooks")
    once.get_by_role("button", name="Done").click()
    expect(once).to_have_count(0)

    page.get_by_role("link", name="Shop").click()
    url = page.get_by_label("Endpoint URL").input_value()
    assert deliver(page, url, secret, "A-7") == 202
    wait_until(lambda: WebhookEvent.objects.filter(execution__isnull=False).exists(), timeout=30, what="run started")
    page.reload()
    row = page.get_by_test_id("deliveries").locator("tbody tr[data-event]")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Payload").click()
    expect(page.get_by_test_id("payload")).to_contain_text('"order": "A-7"')
    row.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status").first).to_contain_text("Replayed as run")
    screenshot(page, "webhook-detail")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate secret").click()
    rotated = page.get_by_test_id("secret-once").locator("code")
    expect(rotated).not_to_have_text(secret)
    assert deliver(page, url, rotated.inner_text(), "A-8") == 202

    member("gina")
    other = visitor()
    sign_in(other, "gina")
    integration_id = re.search(r"/webhooks/(\d+)/", page.url).group(1)
    assert other.goto(f"/webhooks/{integration_id}/").status == 404
    assert other.request.get(f"/api/v1/webhooks/integrations/{integration_id}").status == 404


def test_owner_manages_members_keys_retention_credentials_and_limits_and_a_viewer_cannot(visitor, acme):
    alice = member("alice")
    member("vic")
    # Members are added only from tenants their adder manages (tenants.selectors.member_candidate_get):
    # newbie works in alice's other tenant.
    labs = tenant_create(name="Acme Labs", slug="acme-labs", owner=alice)
    membership_add(tenant=labs, user=get_user_model().objects.create(username="newbie"), role="viewer")
    page = visitor()
    sign_in(page, "alice", "/settings/")

    page.get_by_label("Username").fill("newbie")
    page.get_by_role("form", name="Add a member").get_by_role("combobox").select_option("approver")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_test_id("members").locator('tr[data-member="newbie"]')).to_have_count(1)
    page.get_by_label("Role of vic").select_option("editor")
    page.get_by_label("Key name").fill("ci")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_test_id("key-once")).to_contain_text("shown only now")
    page.get_by_label("Keep run history (days)").fill("45")
    page.get_by_role("button", name="Save retention").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("openai")
    page.get_by_label("API key", exact=True).fill("sk-secret-value")
    page.get_by_role("button", name="Save key").click()
    expect(page.get_by_test_id("credentials")).to_contain_text("openai (openai) · key set")
    page.get_by_label("Provider (blank: all)").fill("openai")
    page.get_by_label("Monthly budget (USD)").fill("12.5")
    page.get_by_role("button", name="Save limits").click()
    expect(page.get_by_test_id("limits")).to_contain_text("12.5000")
    page.get_by_label("Template name").fill("welcome")
    page.get_by_label("Subject").fill("Welcome {{ input.name }}")
    page.get_by_label("Body").fill("Hello {{ input.name }}")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_test_id("email-templates")).to_contain_text("welcome · Welcome {{ input.name }}")
    screenshot(page, "settings")

    assert "sk-secret-value" not in page.content()
    assert Membership.objects.for_tenant(acme).get(user__username="newbie").role == "approver"
    assert Membership.objects.for_tenant(acme).get(user__username="vic").role == "editor"
    assert ApiKey.objects.for_tenant(acme).filter(name="ci").exists()
    acme.refresh_from_db()
    assert acme.retention_days == 45
    assert ProviderCredential.objects.for_tenant(acme).get(name="openai").api_key_encrypted != "sk-secret-value"
    assert str(LimitPolicy.objects.for_tenant(acme).get(provider="openai").monthly_budget) == "12.5000"
    assert EmailTemplate.objects.for_tenant(acme).get(name="welcome").body == "Hello {{ input.name }}"

    Membership.objects.for_tenant(acme).filter(user__username="vic").update(role="viewer")
    viewer = visitor()
    sign_in(viewer, "vic")
    expect(viewer.get_by_role("link", name="Settings")).to_have_count(0)
    assert viewer.goto("/settings/").status == 403
