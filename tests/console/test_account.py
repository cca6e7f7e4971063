"""The console's own sign-in: members without staff status log in, attempts are throttled per
username and per client address, logout, password change, and the tenant switcher."""

import uuid

import pytest
from django.test import Client

from tenants import services as tenant_services
from tenants.models import Role
from tests.console.test_pages import page_config
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def own_cache(settings):
    """A fresh in-process cache per test: the failure counters of one test never leak into another."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }
    settings.CONSOLE_LOGIN_FAILURES_PER_USERNAME = 3
    settings.CONSOLE_LOGIN_FAILURES_PER_ADDRESS = 5


def member(username: str, tenant=None, role=Role.APPROVER):
    user = UserFactory(username=username, is_staff=False)
    user.set_password(PASSWORD)
    user.save()
    if tenant is not None:
        tenant_services.membership_add(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def acme():
    return tenant_services.tenant_create(name="Acme", slug="acme", owner=UserFactory(username="alice"))


def sign_in(client: Client, username: str, password: str = PASSWORD, address: str = "10.0.0.1", next: str = ""):
    data = {"username": username, "password": password}
    if next:
        data["next"] = next
    return client.post("/login/", data, REMOTE_ADDR=address)


def test_non_staff_member_signs_in_and_reaches_the_dashboard(acme):
    member("ada", acme)
    client = Client()

    response = sign_in(client, "ada", next="/inbox/")

    assert response.status_code == 302 and response["Location"] == "/inbox/"
    config = page_config(client.get("/"))
    assert config["user"] == "ada" and config["role"] == "approver"
    assert config["can"]["approve"] is True and config["can"]["edit"] is False


def test_login_page_is_the_consoles_own_and_never_redirects_off_site(acme):
    member("ada", acme)
    assert b'name="password"' in Client().get("/login/").content

    response = sign_in(Client(), "ada", next="https://evil.example.com/")

    assert response["Location"] == "/"


def test_wrong_password_says_so_without_telling_which_part_was_wrong(acme):
    member("ada", acme)

    response = sign_in(Client(), "ada", password="nope")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_failures_for_one_username_lock_it_out_even_with_the_right_password(acme):
    member("ada", acme)
    for attempt in range(3):
        sign_in(Client(), "ada", password=f"guess-{attempt}", address=f"10.0.1.{attempt}")

    response = sign_in(Client(), "ada", address="10.0.2.1")

    assert response.status_code == 429
    assert "Too many failed sign-in attempts for this username" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in Client().session


def test_failures_from_one_address_lock_it_out_for_every_username(acme):
    member("ada", acme)
    for attempt in range(5):
        sign_in(Client(), f"guess{attempt}", password="nope", address="10.9.9.9")

    refused = sign_in(Client(), "ada", address="10.9.9.9")
    elsewhere = sign_in(Client(), "ada", address="10.9.9.10")

    assert refused.status_code == 429
    assert "for your network address" in refused.content.decode()
    assert elsewhere.status_code == 302


def test_a_success_clears_the_usernames_failures(acme):
    member("ada", acme)
    for attempt in range(2):
        sign_in(Client(), "ada", password=f"guess-{attempt}")
    assert sign_in(Client(), "ada").status_code == 302

    for attempt in range(2):
        sign_in(Client(), "ada", password=f"again-{attempt}")

    assert sign_in(Client(), "ada").status_code == 302


def test_logout_ends_the_session(acme):
    member("ada", acme)
    client = Client()
    sign_in(client, "ada")

    response = client.post("/logout/")

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/")["Location"] == "/login/?next=/"


def test_password_change_keeps_the_session_and_the_new_password_works(acme):
    member("ada", acme)
    client = Client()
    sign_in(client, "ada")

    new = "a much newer secret 42"
    response = client.post("/account/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})

    assert response.status_code == 302 and response["Location"] == "/account/password/done/"
    assert client.get("/").status_code == 200
    assert sign_in(Client(), "ada", password="a much newer secret 42").status_code == 302


def test_password_change_with_a_wrong_old_password_names_the_field(acme):
    member("ada", acme)
    client = Client()
    sign_in(client, "ada")

    response = client.post(
        "/account/password/", {"old_password": "nope", "new_password1": "x" * 12, "new_password2": "x" * 12}
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()


def test_tenant_switcher_lists_the_users_tenants_and_remembers_the_pick(acme):
    globex = tenant_services.tenant_create(name="Globex", slug="globex", owner=UserFactory(username="gina"))
    member("ada", acme)
    tenant_services.membership_add(tenant=globex, user=UserFactory(username="ada"), role=Role.VIEWER)
    client = Client()
    sign_in(client, "ada")
    assert {t["slug"] for t in page_config(client.get("/"))["tenants"]} == {"acme", "globex"}

    response = client.post("/account/tenant/", {"tenant": "globex"})

    assert response.status_code == 302
    config = page_config(client.get("/"))
    assert config["tenant"]["slug"] == "globex" and config["role"] == "viewer"


def test_tenant_switcher_refuses_a_tenant_the_user_is_not_in(acme):
    tenant_services.tenant_create(name="Globex", slug="globex", owner=UserFactory(username="gina"))
    member("ada", acme)
    client = Client()
    sign_in(client, "ada")

    assert client.post("/account/tenant/", {"tenant": "globex"}).status_code == 404
    assert page_config(client.get("/"))["tenant"]["slug"] == "acme"
