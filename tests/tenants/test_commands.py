"""The tenant management commands, run the way an operator runs them."""

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tenants.models import Membership, Role, Tenant
from tests.support.process import manage


@pytest.mark.django_db
def test_create_tenant_add_member_and_key_give_a_working_api_key(capsys):
    call_command("create_tenant", "--name", "Acme Corp", "--slug", "acme")
    call_command("add_member", "--tenant", "acme", "--user", "alice", "--role", "admin")
    capsys.readouterr()
    call_command("create_api_key", "--tenant", "acme", "--user", "alice", "--name", "ci")
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 and printed.startswith("mono_")  # only the key

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {printed.strip()}")
    me = client.get("/api/v1/me").json()
    assert (me["user"], me["tenant"]["slug"], me["role"]) == ("alice", "acme", "admin")


@pytest.mark.django_db
def test_add_member_creates_the_user_and_changes_role_on_repeat():
    call_command("create_tenant", "--name", "Acme", "--slug", "acme")
    call_command("add_member", "--tenant", "acme", "--user", "bob", "--role", "viewer")
    call_command("add_member", "--tenant", "acme", "--user", "bob", "--role", "approver")
    assert Membership.objects.get(user__username="bob").role == Role.APPROVER


@pytest.mark.django_db
def test_unknown_tenant_slug_is_a_clear_error():
    with pytest.raises(CommandError, match="Unknown tenant slug 'nope'"):
        call_command("add_member", "--tenant", "nope", "--user", "bob", "--role", "viewer")


@pytest.mark.django_db
def test_duplicate_or_bad_slug_names_the_field_and_writes_nothing():
    call_command("create_tenant", "--name", "Acme", "--slug", "acme")
    with pytest.raises(CommandError, match="slug"):
        call_command("create_tenant", "--name", "Other", "--slug", "acme")
    with pytest.raises(CommandError, match="slug"):
        call_command("create_tenant", "--name", "Bad", "--slug", "not a slug!")
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["acme"]


@pytest.mark.django_db
def test_api_key_for_a_non_member_is_refused():
    call_command("create_tenant", "--name", "Acme", "--slug", "acme")
    call_command("create_tenant", "--name", "Globex", "--slug", "globex")
    call_command("add_member", "--tenant", "globex", "--user", "gina", "--role", "owner")
    with pytest.raises(CommandError, match="not a member of tenant acme"):
        call_command("create_api_key", "--tenant", "acme", "--user", "gina", "--name", "x")


@pytest.mark.django_db
def test_bad_shard_exits_non_zero_with_a_message_and_no_traceback():
    result = manage("runworkers", "--shard", "5/4", "--health-port", "0")
    assert result.returncode != 0
    assert "--shard must be K/N" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("command", [["provision_namespaces"], ["runworkers", "--health-port", "0"], ["probe_workers"]])
def test_unreachable_temporal_exits_non_zero_with_a_message_and_no_traceback(command):
    result = manage(*command, TEMPORAL_ADDRESS="127.0.0.1:1", TEMPORAL_CONNECT_TIMEOUT_SECONDS="1")
    assert result.returncode == 1
    assert "Cannot reach Temporal at 127.0.0.1:1 (TEMPORAL_ADDRESS)" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_database_url_names_the_variable():
    result = manage("check", DATABASE_URL=None)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_secret_key_outside_debug_names_the_variable():
    result = manage("check", SECRET_KEY=None, DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
