"""`/api/v1/email-templates`: the templates EmailNodes send, managed by owners and admins."""

import pytest

from tests.workflows.conftest import api_as
from workflows.models import EmailTemplate

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_saves_replaces_and_deletes_a_template_others_read_it(acme, globex):
    admin = api_as(acme, "adam")
    created = admin.post(
        "/api/v1/email-templates", {"name": "welcome", "subject": "Hi {{ input.name }}", "body": "B"}, format="json"
    )
    assert created.status_code == 201, created.content
    again = admin.post("/api/v1/email-templates", {"name": "welcome", "subject": "Hello", "body": "B2"}, format="json")
    template_id = created.json()["id"]

    assert again.json()["id"] == template_id
    assert api_as(acme, "vic").get("/api/v1/email-templates").json()["results"][0]["subject"] == "Hello"
    assert admin.patch(f"/api/v1/email-templates/{template_id}", {"body": "B3"}, format="json").json()["body"] == "B3"
    assert api_as(globex, "gina").get(f"/api/v1/email-templates/{template_id}").status_code == 404
    assert admin.delete(f"/api/v1/email-templates/{template_id}").status_code == 204
    assert not EmailTemplate.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "subject": "{{ oops", "body": "b"}, "subject"),
        ({"name": "not a slug", "subject": "s", "body": "b"}, "name"),
    ],
)
def test_a_bad_template_is_a_400_naming_the_field_and_saves_nothing(acme, body, field):
    response = api_as(acme, "alice").post("/api/v1/email-templates", body, format="json")

    assert response.status_code == 400 and field in response.json()
    assert not EmailTemplate.objects.exists()


def test_editors_cannot_change_templates(acme):
    body = {"name": "x", "subject": "s", "body": "b"}
    assert api_as(acme, "erin").post("/api/v1/email-templates", body, format="json").status_code == 403
