"""SQL statements per request on the hot paths, counted so they cannot creep back unnoticed.

Counts are of a warm process (the second request with the same API key): what every request
after the first one costs. A change that adds a statement on these paths fails here and has to
say why in the count it changes.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tenants.models import Role
from tenants.services import api_key_create, membership_add, tenant_create
from tests.factories import UserFactory
from tests.llm.conftest import fake_llm, prices  # noqa: F401 (fixtures)
from tests.webhooks.conftest import make_integration, payload, post, signed_headers
from tests.workflows.graphs import END, START, edge, graph, record
from workflows.models import DefinitionStatus
from workflows.services.definitions import definition_create


@pytest.fixture
def tenant(prices):  # noqa: F811 (the fixture imported above)
    return tenant_create(name="Counted", slug="counted", owner=UserFactory(username="counted-owner"))


@pytest.fixture
def api(tenant):
    editor = UserFactory(username="counted-editor")
    membership_add(tenant=tenant, user=editor, role=Role.EDITOR)
    _, key = api_key_create(tenant=tenant, user=editor, name="count")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.get("/api/v1/me")  # resolves the key once, as the process's first request did
    return client


def statements(send) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = send()
    assert response.status_code < 300, response.content
    sql = [query["sql"] for query in captured.captured_queries]
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")  # transaction control, not work
    return len([s for s in sql if not s.startswith(control)]), sql


def test_me_reads_nothing_once_the_key_is_resolved(api):
    count, sql = statements(lambda: api.get("/api/v1/me"))
    assert count == 0, sql


def test_list_of_runs_costs_a_count_and_a_page(api, tenant):
    definition = definition_create(tenant=tenant, name="Chain", graph=graph(START, END, edge("start", "end")))
    for key in "abc":
        api.post(f"/api/v1/workflows/{definition.pk}/execute", {"input": {"key": key}}, format="json")
    count, sql = statements(lambda: api.get("/api/v1/executions?limit=20"))
    assert count == 2, sql  # COUNT(*) and the page, with its definition and starter joined


def test_workflow_execute_costs_its_rows_and_no_rereads(api, tenant):
    chain = graph(START, record("a"), END, edge("start", "a"), edge("a", "end"))
    definition = definition_create(tenant=tenant, name="Chain", graph=chain, status=DefinitionStatus.PUBLISHED)
    count, sql = statements(
        lambda: api.post(f"/api/v1/workflows/{definition.pk}/execute", {"input": {"key": "k"}}, format="json")
    )
    # The definition, the concurrent-runs check, its newest version, the execution and audit rows;
    # then, after commit, the start: one UPDATE marks it started with its Temporal run id.
    assert count == 6, "\n".join(s[:150] for s in sql)


@pytest.mark.usefixtures("fake_llm")
def test_llm_execute_costs_one_usage_row(api):
    body = {"messages": [{"role": "user", "content": "warm"}], "route": "openai:gpt-4o-mini"}
    api.post("/api/v1/llm/execute", body, format="json")  # credentials, prices, limits, breaker read once
    body["messages"][0]["content"] = "counted"
    count, sql = statements(lambda: api.post("/api/v1/llm/execute", body, format="json"))
    assert count == 1, sql  # the usage row


def test_webhook_ingest_stores_the_event_in_one_statement(tenant, monkeypatch):
    from webhooks.services import receive

    monkeypatch.setattr(receive, "start_soon", lambda event_pk: None)  # the start is not the request's
    _, secret = make_integration(tenant, slug="counted-shop")
    body = payload("warm")
    post("counted-shop", body, signed_headers(secret, body))  # the integration's verifier is cached
    body = payload("counted")
    count, sql = statements(lambda: post("counted-shop", body, signed_headers(secret, body)))
    assert count == 1, sql  # INSERT … ON CONFLICT DO NOTHING RETURNING
