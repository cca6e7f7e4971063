"""The tenant management commands, run the way an operator runs them."""

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tenants.models import Membership, Role, Tenant
from tests.support.process import manage
from tests.support.stack import project_copy


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


TEMPORAL_COMMANDS = [
    ["provision_namespaces"],
    ["runworkers", "--health-port", "0"],
    ["probe_workers"],
    ["workers_health"],
    ["sync_schedules"],
]


@pytest.mark.django_db
@pytest.mark.parametrize("command", TEMPORAL_COMMANDS)
def test_unreachable_temporal_is_one_line_naming_what_to_start(command):
    result = manage(*command, TEMPORAL_ADDRESS="127.0.0.1:1", TEMPORAL_CONNECT_TIMEOUT_SECONDS="1")
    assert result.returncode == 1
    assert result.stderr.startswith("Cannot reach Temporal at 127.0.0.1:1 (TEMPORAL_ADDRESS)")
    assert "Start Temporal: `make run` starts a dev server" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.django_db
def test_unreachable_temporal_shows_the_traceback_with_verbosity_2():
    result = manage("sync_schedules", "-v", "2", TEMPORAL_ADDRESS="127.0.0.1:1", TEMPORAL_CONNECT_TIMEOUT_SECONDS="1")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("Cannot reach Temporal at 127.0.0.1:1")


@pytest.mark.django_db(transaction=True)
def test_create_tenant_with_temporal_unreachable_creates_it_and_says_the_namespace_comes_later():
    result = manage(
        "create_tenant",
        "--name",
        "Acme",
        "--slug",
        "acme",
        TEMPORAL_ADDRESS="127.0.0.1:1",
        TEMPORAL_CONNECT_TIMEOUT_SECONDS="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Created tenant acme (id ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "its Temporal namespace will be provisioned later" in result.stderr
    assert Tenant.objects.filter(slug="acme").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["add_member", "--tenant", "acme", "--user", "bob", "--role", "viewer"],
        ["backup_tenant", "--tenant", "acme"],
    ],
)
def test_unreachable_database_is_one_line_naming_what_to_start(command):
    result = manage(*command, DATABASE_URL="postgres://postgres@127.0.0.1:1/mono")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "Cannot reach the database 'mono' at 127.0.0.1:1 (DATABASE_URL): Connection refused."
    )
    assert "Start PostgreSQL: `make run` starts its own" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def fresh_checkout(tmp_path_factory):
    """A copy of the project without `.data/dev.env`: where `make run` ran, that file would
    supply the variables these tests take away."""
    return project_copy(tmp_path_factory.mktemp("checkout"))


def test_missing_database_url_names_the_variable(fresh_checkout):
    result = manage("check", DATABASE_URL=None, cwd=fresh_checkout)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_secret_key_outside_debug_names_the_variable(fresh_checkout):
    result = manage("check", SECRET_KEY=None, DEBUG="0", cwd=fresh_checkout)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
