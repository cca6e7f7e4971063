"""The console pages: login, the viewer's tenant, and nothing of another tenant."""

import json

import pytest
from django.test import Client

from tenants import services as tenant_services
from tenants.models import Role
from tests.factories import UserFactory
from tests.workflows import graphs
from workflows.models import WorkflowExecution
from workflows.services import definitions

pytestmark = pytest.mark.django_db

RECORD = graphs.graph(
    graphs.START, graphs.record("save"), graphs.END, graphs.edge("start", "save"), graphs.edge("save", "end")
)


@pytest.fixture
def acme():
    tenant = tenant_services.tenant_create(name="Acme", slug="acme", owner=UserFactory(username="alice"))
    tenant_services.membership_add(tenant=tenant, user=UserFactory(username="vic"), role=Role.VIEWER)
    return tenant


@pytest.fixture
def globex():
    return tenant_services.tenant_create(name="Globex", slug="globex", owner=UserFactory(username="gina"))


def logged_in(username: str) -> Client:
    client = Client()
    client.force_login(UserFactory(username=username))
    return client


def page_config(response) -> dict:
    html = response.content.decode()
    start = html.index('id="console-config"')
    body = html[html.index(">", start) + 1 : html.index("</script>", start)]
    return json.loads(body)


def a_run(tenant) -> WorkflowExecution:
    definition = definitions.definition_create(tenant=tenant, name="Records", graph=RECORD)
    return WorkflowExecution.objects.create(tenant=tenant, definition=definition, version=definition.latest_version)


@pytest.mark.parametrize("path", ["/", "/inbox/", "/workflows/new", "/workflows/1/edit", "/executions/execution-x/"])
def test_anonymous_visitor_is_sent_to_the_consoles_own_login_page(path):
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_dashboard_mounts_the_bundle_with_the_viewers_tenant_and_counts(acme):
    a_run(acme)

    response = logged_in("vic").get("/")

    assert response.status_code == 200
    assert b"/static/console/console.js" in response.content
    assert b"/static/console/console.css" in response.content
    assert "csrftoken" in response.cookies
    config = page_config(response)
    assert config["page"] == "dashboard"
    assert config["tenant"]["slug"] == "acme"
    assert config["role"] == "viewer"
    assert config["can"]["view"] is True and config["can"]["edit"] is False
    assert config["counts"]["pending"] == 1
    assert config["temporal"] == {"ui_url": "http://127.0.0.1:8233", "namespace": f"mono-tenant-{acme.pk}"}


def test_temporal_ui_base_url_comes_from_the_setting(acme, settings):
    settings.TEMPORAL_UI_URL = "https://temporal.example.com"

    config = page_config(logged_in("alice").get("/"))

    assert config["temporal"]["ui_url"] == "https://temporal.example.com"


def test_editor_page_opens_the_tenants_workflow(acme):
    definition = definitions.definition_create(tenant=acme, name="Records", graph=RECORD)

    response = logged_in("alice").get(f"/workflows/{definition.pk}/edit")

    assert response.status_code == 200
    assert page_config(response)["workflow"] == definition.pk


def test_another_tenants_workflow_page_is_404_like_a_missing_one(acme, globex):
    foreign = definitions.definition_create(tenant=globex, name="Secret", graph=RECORD)
    client = logged_in("alice")

    assert client.get(f"/workflows/{foreign.pk}/edit").status_code == 404
    assert client.get(f"/workflows/{foreign.pk + 1000}/edit").status_code == 404


def test_another_tenants_execution_page_is_404_like_a_missing_one(acme, globex):
    foreign = a_run(globex)
    client = logged_in("alice")

    assert client.get(f"/executions/{foreign.pk}/").status_code == 404
    assert client.get("/executions/execution-missing/").status_code == 404


def test_monitor_page_carries_the_graph_of_the_runs_own_version(acme):
    execution = a_run(acme)
    definitions.definition_update(
        definition=execution.definition,
        actor=None,
        graph=graphs.graph(graphs.START, graphs.END, graphs.edge("start", "end")),
    )

    config = page_config(logged_in("vic").get(f"/executions/{execution.pk}/"))

    assert config["execution"] == execution.pk
    assert config["version"] == 1
    assert [node["id"] for node in config["graph"]["nodes"]] == ["start", "save", "end"]


def test_tenant_query_parameter_picks_one_of_the_users_tenants_only(acme, globex):
    tenant_services.membership_add(tenant=globex, user=UserFactory(username="alice"), role=Role.EDITOR)
    client = logged_in("alice")

    assert page_config(client.get("/?tenant=globex"))["tenant"]["slug"] == "globex"
    response = client.get("/?tenant=initech")
    assert response.status_code == 403
    assert "not a member of an active tenant “initech”" in response.content.decode()


def test_user_without_a_tenant_sees_a_page_that_says_so(db):
    response = logged_in("nobody").get("/")

    assert response.status_code == 200
    assert "not a member of\nany active tenant" in response.content.decode()


def test_user_of_a_deactivated_tenant_only_sees_the_no_tenant_page(acme):
    acme.is_active = False
    acme.save(update_fields=["is_active"])

    response = logged_in("vic").get("/")

    assert response.status_code == 200
    assert b'data-testid="no-tenant"' in response.content
    assert b"console-config" not in response.content


@pytest.mark.parametrize("path", ["/runs/", "/workflows/", "/inbox/"])
def test_list_pages_mount_the_bundle_for_any_member(acme, path):
    response = logged_in("vic").get(path)

    assert response.status_code == 200
    assert page_config(response)["page"] == path.strip("/")


def test_workflow_page_opens_the_tenants_workflow_and_404s_another_tenants(acme, globex):
    own = definitions.definition_create(tenant=acme, name="Records", graph=RECORD)
    foreign = definitions.definition_create(tenant=globex, name="Secret", graph=RECORD)
    client = logged_in("vic")

    config = page_config(client.get(f"/workflows/{own.pk}/"))
    assert (config["page"], config["workflow"], config["workflow_name"]) == ("workflow", own.pk, "Records")
    assert client.get(f"/workflows/{foreign.pk}/").status_code == 404


def test_settings_page_is_for_owners_and_admins_only(acme):
    assert logged_in("alice").get("/settings/").status_code == 200
    assert logged_in("vic").get("/settings/").status_code == 403


def test_webhook_page_404s_another_tenants_integration(acme, globex):
    from tests.webhooks.conftest import make_integration

    foreign, _ = make_integration(globex, name="Theirs")

    assert logged_in("vic").get(f"/webhooks/{foreign.pk}/").status_code == 404
    assert page_config(logged_in("gina").get(f"/webhooks/{foreign.pk}/"))["integration"] == foreign.pk
