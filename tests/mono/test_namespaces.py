"""Namespace provisioning against the real Temporal dev server."""

import uuid

import pytest
from django.core.management import CommandError, call_command

from mono.temporal import search_attributes, sync
from mono.temporal.client import connect, tenant_namespace
from mono.temporal.namespaces import Action, TemporalNamespaceManager
from tenants import services
from tests.factories import TenantFactory


def run_manager(method: str, *args, **kwargs):
    async def call():
        return await getattr(TemporalNamespaceManager(await connect()), method)(*args, **kwargs)

    return sync.run(call)


def test_new_namespace_is_created_with_requested_retention():
    name = f"test-{uuid.uuid4().hex[:8]}"
    result = run_manager("ensure", name, retention_days=7)
    assert result.action is Action.CREATED
    assert run_manager("retention_days", name) == 7


def test_reprovisioning_is_idempotent():
    name = f"test-{uuid.uuid4().hex[:8]}"
    run_manager("ensure", name, retention_days=7)
    again = run_manager("ensure", name, retention_days=7)
    assert again.action is Action.UNCHANGED
    assert again.search_attributes == "present"


def test_changed_retention_updates_existing_namespace():
    name = f"test-{uuid.uuid4().hex[:8]}"
    run_manager("ensure", name, retention_days=7)
    result = run_manager("ensure", name, retention_days=30)
    assert result.action is Action.UPDATED
    assert run_manager("retention_days", name) == 30


def test_search_attributes_for_tenant_and_workflow_are_registered():
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    name = f"test-{uuid.uuid4().hex[:8]}"
    assert run_manager("ensure", name, retention_days=3).search_attributes == "registered"

    async def listed():
        client = await connect()
        return await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=name))

    custom = sync.run(listed).custom_attributes
    assert set(search_attributes.ALL) <= set(custom)


def test_platform_namespace_keeps_runs_for_a_year():
    run_manager("ensure_platform")
    assert run_manager("retention_days", "mono-platform") == 365


@pytest.mark.django_db(transaction=True)
def test_new_tenant_gets_its_namespace_after_commit():
    tenant = services.tenant_create(name="Initech", slug="initech", retention_days=14)
    assert run_manager("retention_days", tenant_namespace(tenant.pk)) == 14


@pytest.mark.django_db(transaction=True)
def test_retention_change_reaches_temporal():
    tenant = services.tenant_create(name="Hooli", slug="hooli")
    services.tenant_update(tenant=tenant, retention_days=45)
    assert run_manager("retention_days", tenant_namespace(tenant.pk)) == 45


@pytest.mark.django_db
def test_provision_command_reports_created_then_unchanged(capsys):
    tenants = [TenantFactory(retention_days=10), TenantFactory(retention_days=20)]
    call_command("provision_namespaces")
    first = capsys.readouterr().out
    for tenant in tenants:
        assert f"{tenant_namespace(tenant.pk)}: created (retention {tenant.retention_days} days" in first
    assert "[3/3]" in first

    call_command("provision_namespaces", "--tenant", tenants[0].slug)
    second = capsys.readouterr().out
    assert f"[1/1] {tenant_namespace(tenants[0].pk)}: unchanged" in second
    assert "Done: 0 created, 0 updated, 1 unchanged in " in second
    assert run_manager("retention_days", tenant_namespace(tenants[1].pk)) == 20


@pytest.mark.django_db
def test_provision_command_reports_a_failing_tenant_and_provisions_the_rest(capsys):
    from tenants.models import Tenant

    good = [TenantFactory(retention_days=10) for _ in range(3)]
    bad = TenantFactory()
    # A row the validators would refuse (legacy data): Temporal rejects a zero retention.
    Tenant.objects.filter(pk=bad.pk).update(retention_days=0)

    with pytest.raises(CommandError, match=r"1 of 5 namespaces failed .*Run the command again"):
        call_command("provision_namespaces")

    captured = capsys.readouterr()
    assert f"{tenant_namespace(bad.pk)}: failed FAILED:" in captured.out
    assert f"{tenant_namespace(bad.pk)} (tenant {bad.slug}): " in captured.err
    assert "retention" in captured.err.lower()
    for tenant in good:
        assert run_manager("retention_days", tenant_namespace(tenant.pk)) == 10

    # Fixed and run again: it resumes, creating only what is missing.
    Tenant.objects.filter(pk=bad.pk).update(retention_days=7)
    call_command("provision_namespaces")
    again = capsys.readouterr().out
    assert "Done: 1 created, 0 updated, 4 unchanged in " in again
    assert run_manager("retention_days", tenant_namespace(bad.pk)) == 7
