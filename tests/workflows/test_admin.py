"""Operators see definitions, versions, runs and approvals in the admin and can decide approvals."""

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditAction, AuditEvent
from tests.workflows import graphs
from tests.workflows.conftest import open_approval_of, start, wait_result
from tests.workflows.test_schedules import schedule_exists, scheduled
from workflows.models import DefinitionStatus
from workflows.services import definitions


@pytest.fixture
def operator(client, acme):
    """Alice (owner of Acme, and an approver by role) as a superuser in the admin."""
    alice = get_user_model().objects.get(username="alice")
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


def change_page(definition) -> str:
    return f"/admin/workflows/workflowdefinition/{definition.pk}/change/"


def form_data(response) -> dict:
    """What the browser would post back from an admin change page, as it was shown."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None and value is not False:
                data[form.add_prefix(name)] = "on" if value is True else value
    return data


def audited(definition) -> list[tuple[str, str]]:
    events = AuditEvent.objects.for_tenant(definition.tenant_id).filter(target_id=str(definition.pk))
    return [(event.action, event.actor.username) for event in events.order_by("pk") if event.actor]


def test_admin_pages_load(operator, acme):
    definition = definitions.definition_create(tenant=acme, name="Shown", graph=graphs.PARALLEL)
    version = definition.latest_version
    for page in [
        "workflows/workflowdefinition/",
        f"workflows/workflowdefinition/{definition.pk}/change/",
        f"workflows/workflowversion/{version.pk}/change/",
        "workflows/workflowexecution/",
        "workflows/approvalrequest/",
        "workflows/record/",
        "workflows/emailtemplate/",
    ]:
        assert operator.get(f"/admin/{page}").status_code == 200, page


def test_admin_approve_action_goes_through_the_workflow(workers, operator, acme):
    execution = start(acme, graphs.approval_graph(approvers=("owner",)), {"key": "a"})
    approval = open_approval_of(execution)
    response = operator.post(
        "/admin/workflows/approvalrequest/", {"action": "approve", "_selected_action": [approval.pk]}
    )
    assert response.status_code == 302
    assert wait_result(execution).status == "completed"
    assert list(approval.decisions.values_list("user__username", "comment")) == [("alice", "via admin")]


def test_archiving_in_the_admin_form_removes_the_schedule_and_is_audited(operator, acme):
    definition = definitions.definition_create(tenant=acme, name="Daily", graph=scheduled("0 9 * * *"))
    assert schedule_exists(acme, definition.pk)

    data = form_data(operator.get(change_page(definition))) | {"status": DefinitionStatus.ARCHIVED}
    response = operator.post(change_page(definition), data)

    assert response.status_code == 302
    definition.refresh_from_db()
    assert definition.status == DefinitionStatus.ARCHIVED
    assert not schedule_exists(acme, definition.pk)
    assert audited(definition) == [(AuditAction.WORKFLOW_UPDATED, "alice"), (AuditAction.WORKFLOW_ARCHIVED, "alice")]
    archived = AuditEvent.objects.for_tenant(acme).get(action=AuditAction.WORKFLOW_ARCHIVED)
    assert archived.data == {"from": DefinitionStatus.DRAFT}


def test_the_archive_action_removes_the_schedule_and_publish_brings_it_back(operator, acme):
    definition = definitions.definition_create(tenant=acme, name="Daily", graph=scheduled("0 9 * * *"))
    changelist = "/admin/workflows/workflowdefinition/"

    response = operator.post(changelist, {"action": "archive", "_selected_action": [definition.pk]})
    assert response.status_code == 302
    assert not schedule_exists(acme, definition.pk)

    response = operator.post(changelist, {"action": "publish", "_selected_action": [definition.pk]})
    assert response.status_code == 302
    definition.refresh_from_db()
    assert definition.status == DefinitionStatus.PUBLISHED
    assert schedule_exists(acme, definition.pk)
    assert audited(definition) == [
        (AuditAction.WORKFLOW_ARCHIVED, "alice"),
        (AuditAction.WORKFLOW_UPDATED, "alice"),
        (AuditAction.WORKFLOW_PUBLISHED, "alice"),
    ]


def test_a_rename_in_the_admin_is_audited_and_keeps_the_schedule(operator, acme):
    definition = definitions.definition_create(tenant=acme, name="Daily", graph=scheduled("0 9 * * *"))

    data = form_data(operator.get(change_page(definition))) | {"name": "Every morning"}
    assert operator.post(change_page(definition), data).status_code == 302

    definition.refresh_from_db()
    assert definition.name == "Every morning"
    assert schedule_exists(acme, definition.pk)
    updated = AuditEvent.objects.for_tenant(acme).get(action=AuditAction.WORKFLOW_UPDATED)
    assert (updated.actor.username, updated.data["fields"]) == ("alice", ["name"])


def test_the_admin_cannot_delete_definitions_or_versions(operator, acme):
    definition = definitions.definition_create(tenant=acme, name="Kept", graph=graphs.PARALLEL)
    version = definition.latest_version
    assert operator.get(f"/admin/workflows/workflowdefinition/{definition.pk}/delete/").status_code == 403
    assert operator.get(f"/admin/workflows/workflowversion/{version.pk}/delete/").status_code == 403
