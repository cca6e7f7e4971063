"""Tenant backups: archive contents, restore round trip, and every refusal leaving nothing written."""

import hashlib
import io
import json
import tarfile
import threading
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer

from llm.models import LLMUsage, PromptTemplate, PromptTemplateVersion
from maintenance.services import backups
from maintenance.temporal.types import NightlyBackupsInput, NightlyBackupsResult
from maintenance.temporal.workflows import NightlyBackupsWorkflow
from mono.temporal import queues, sync
from mono.temporal.client import get_platform_client
from tenants.models import ApiKey, Membership, Role, Tenant
from tenants.services import membership_add
from tests.factories import UserFactory
from tests.maintenance.conftest import tenant
from tests.workflows.graphs import LINEAR_EMAIL
from workflows.models import (
    ApprovalDecision,
    ApprovalRequest,
    ExecutionEvent,
    ExecutionStatus,
    Record,
    StepExecution,
    WorkflowExecution,
)
from workflows.services import definitions

User = get_user_model()


def populate(owner: Tenant) -> None:
    """A bit of everything a tenant owns, with relations between the rows."""
    alice = User.objects.get(username="alice")
    membership_add(tenant=owner, user=UserFactory(username="erin"), role=Role.EDITOR)
    ApiKey.objects.create(tenant=owner, user=alice, name="ci", key_id="abc123", secret_hash="0" * 64)
    definition = definitions.definition_create(tenant=owner, name="Onboarding", graph=LINEAR_EMAIL, actor=alice)
    graph = {**LINEAR_EMAIL, "viewport": {"x": 1, "y": 2, "zoom": 1}}
    definitions.definition_update(definition=definition, graph=graph, actor=alice, description="v2")
    first, second = definition.versions.order_by("number")
    for version, status in [(first, ExecutionStatus.COMPLETED), (second, ExecutionStatus.RUNNING)]:
        execution = WorkflowExecution.objects.create(
            tenant=owner, definition=definition, version=version, status=status, input={"n": version.number}
        )
        StepExecution.objects.create(
            tenant=owner, execution=execution, node_id="mail", node_type="EmailNode", status="completed"
        )
        ExecutionEvent.objects.create(tenant=owner, execution=execution, seq=1, kind="started", at=timezone.now())
        approval = ApprovalRequest.objects.create(
            tenant=owner, execution=execution, node_id="ok", approvers=["erin"], eligible_usernames=["erin"]
        )
        ApprovalDecision.objects.create(
            tenant=owner, approval=approval, user=User.objects.get(username="erin"), decision="approve"
        )
        LLMUsage.objects.create(
            tenant=owner,
            scope="workflow",
            provider="openai",
            model="gpt-4o",
            status="ok",
            cost=Decimal("0.0000012345"),
            execution_id=execution.pk,
        )
    Record.objects.create(tenant=owner, collection="orders", key="A-1", fields={"total": 12.5, "lines": [1, 2]})
    template = PromptTemplate.objects.create(tenant=owner, name="summary")
    PromptTemplateVersion.objects.create(tenant=owner, template=template, number=1, user="Summarise {{ text }}")


def normalised(owner: Tenant, model, depth: int = 2) -> list[str]:
    """The tenant's rows of `model` without ids: foreign keys replaced by what they point at."""

    def describe(obj, depth):
        row = {}
        for f in obj._meta.concrete_fields:
            if f.primary_key or f.name == "tenant":
                continue
            value = getattr(obj, f.attname)
            if f.is_relation and value is not None:
                related = getattr(obj, f.name)
                value = related.get_username() if isinstance(related, User) else describe(related, depth - 1)
                if depth <= 0:
                    value = "…"
            elif (obj._meta.label_lower, f.name) in backups.SOFT_REFERENCES and value:
                value = describe(WorkflowExecution.objects.get(pk=value), depth - 1)
            row[f.name] = value
        return row

    rows = model._base_manager.filter(tenant=owner)
    return sorted(json.dumps(describe(obj, depth), sort_keys=True, default=str) for obj in rows)


@pytest.fixture
def acme(db):
    owner = tenant("Acme", "acme", owner="alice", retention_days=45)
    populate(owner)
    return owner


def backup(owner: Tenant) -> Path:
    out = io.StringIO()
    call_command("backup_tenant", "--tenant", owner.slug, stdout=out)
    return Path(out.getvalue().split(" to ")[1].split()[0])


def rewrite(archive: Path, change) -> Path:
    """A copy of `archive` whose members went through `change(name, bytes) -> bytes`."""
    copy = archive.with_name("altered.tar.gz")
    with tarfile.open(archive) as source, tarfile.open(copy, "w:gz") as target:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    return copy


def test_archive_holds_a_manifest_with_counts_checksums_and_one_file_per_model(acme, backup_root):
    archive = backup_root / backup(acme)

    assert archive.name.endswith("-v1.tar.gz") and archive.parent == backup_root / "tenants" / "acme"
    sidecar = archive.with_name(archive.name + ".sha256").read_text().split()[0]
    assert sidecar == hashlib.sha256(archive.read_bytes()).hexdigest()
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
        members = {name: tar.extractfile(name).read() for name in names if name != "manifest.json"}
    assert names[0] == "manifest.json"
    assert manifest["format_version"] == 1
    assert manifest["tenant"] == {"id": acme.pk, "slug": "acme", "name": "Acme"}
    leaves = dict(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes())
    assert manifest["schema_version"]["workflows"] == leaves["workflows"]
    assert manifest["schema_version"]["tenants"] == leaves["tenants"]
    assert manifest["counts"]["workflows.workflowexecution"] == 2
    assert manifest["counts"]["tenants.membership"] == 2
    assert "tenants.apikey" not in manifest["counts"]  # key hashes never leave the database
    assert all(hashlib.sha256(data).hexdigest() == manifest["sha256"][name] for name, data in members.items())
    memberships = [json.loads(line) for line in members["tenants.membership.jsonl"].splitlines()]
    assert {row["user"] for row in memberships} == {"alice", "erin"}  # users by username


def test_restore_into_an_empty_tenant_reproduces_every_row_and_relation(acme, backup_root):
    archive = backup(acme)
    copy = tenant("Acme again", "acme-again")

    out = io.StringIO()
    call_command("restore_tenant", "--archive", str(archive), "--into", "acme-again", stdout=out)

    assert "Restored" in out.getvalue()
    for model in backups.backup_models():
        assert normalised(copy, model) == normalised(acme, model), model._meta.label
    copy.refresh_from_db()
    assert copy.retention_days == 45
    # Never two tenants signing outbound webhooks with one secret: the restored tenant has its own.
    assert copy.webhook_signing_secret.startswith("whsec_")
    assert copy.webhook_signing_secret != acme.webhook_signing_secret
    assert WorkflowExecution.objects.for_tenant(copy).count() == 2
    # New ids throughout: nothing of the restored tenant points back into the source tenant.
    assert not set(WorkflowExecution.objects.for_tenant(copy).values_list("pk", flat=True)) & set(
        WorkflowExecution.objects.for_tenant(acme).values_list("pk", flat=True)
    )
    assert set(LLMUsage.objects.for_tenant(copy).values_list("execution_id", flat=True)) == set(
        WorkflowExecution.objects.for_tenant(copy).values_list("pk", flat=True)
    )
    assert ApiKey.objects.for_tenant(copy).count() == 0  # keys are issued again


def test_restore_skips_memberships_of_users_that_do_not_exist(acme, backup_root):
    archive = backup(acme)
    User.objects.filter(username="erin").update(username="erin-renamed")
    copy = tenant("Acme again", "acme-again")

    report = backups.archive_restore(path=str(archive), tenant=copy)

    assert list(Membership.objects.for_tenant(copy).values_list("user__username", flat=True)) == ["alice"]
    assert report.skipped == {"tenants.Membership": 1, "workflows.ApprovalDecision": 2}


def test_a_tampered_archive_is_refused_and_nothing_is_written(acme, backup_root):
    archive = backup_root / backup(acme)
    altered = rewrite(
        archive, lambda name, data: data.replace(b"A-1", b"B-2") if name == "workflows.record.jsonl" else data
    )
    copy = tenant("Acme again", "acme-again")

    with pytest.raises(CommandError, match=r"Checksum mismatch for workflows\.record\.jsonl"):
        call_command("restore_tenant", "--archive", str(altered), "--into", "acme-again")

    assert not any(model._base_manager.filter(tenant=copy).exists() for model in backups.backup_models())


def test_an_archive_changed_after_writing_fails_its_sha256_file(acme, backup_root):
    archive = backup_root / backup(acme)
    archive.write_bytes(archive.read_bytes() + b"\0")
    tenant("Acme again", "acme-again")

    with pytest.raises(CommandError, match="does not match"):
        call_command("restore_tenant", "--archive", str(archive), "--into", "acme-again")


def test_an_unknown_format_version_is_refused(acme, backup_root):
    def future(name, data):
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "format_version": 99}).encode()

    altered = rewrite(backup_root / backup(acme), future)
    tenant("Acme again", "acme-again")

    with pytest.raises(CommandError, match="Unknown backup format version 99"):
        call_command("restore_tenant", "--archive", str(altered), "--into", "acme-again")


def test_restore_into_a_tenant_with_rows_is_refused_and_changes_nothing(acme, backup_root):
    archive = backup(acme)
    globex = tenant("Globex", "globex", owner="gina", retention_days=7)
    before = {model._meta.label: normalised(globex, model) for model in backups.backup_models()}

    with pytest.raises(CommandError, match=r"'globex' is not empty .*tenants\.Membership"):
        call_command("restore_tenant", "--archive", str(archive), "--into", "globex")

    assert {model._meta.label: normalised(globex, model) for model in backups.backup_models()} == before
    globex.refresh_from_db()
    assert globex.retention_days == 7


def test_a_failure_midway_rolls_the_whole_restore_back(acme, backup_root):
    archive = backup(acme)
    copy = tenant("Acme again", "acme-again")
    # A record in a model restored late cannot be inserted: everything before it must vanish too.
    with tarfile.open(backup_root / archive) as tar:
        records = tar.extractfile("workflows.record.jsonl").read()
    bad = records.replace(b'"collection": "orders"', b'"collection": "' + b"x" * 300 + b'"')

    def change(name, data):
        if name == "workflows.record.jsonl":
            return bad
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["sha256"]["workflows.record.jsonl"] = hashlib.sha256(bad).hexdigest()
            return json.dumps(manifest).encode()
        return data

    altered = rewrite(backup_root / archive, change)

    with pytest.raises(Exception):  # noqa: B017 - the database refuses the over-long value
        backups.archive_restore(path=str(altered), tenant=copy)

    assert not any(model._base_manager.filter(tenant=copy).exists() for model in backups.backup_models())


def test_a_retried_backup_with_the_same_stamp_returns_the_archive_already_written(acme, backup_root):
    first = backups.tenant_backup(tenant=acme, stamp="20261201T020700Z")
    again = backups.tenant_backup(tenant=acme, stamp="20261201T020700Z")

    assert again == first
    assert first.path == "tenants/acme/20261201T020700Z-v1.tar.gz"
    assert sorted(p.name for p in (backup_root / "tenants" / "acme").iterdir()) == [
        "20261201T020700Z-v1.tar.gz",
        "20261201T020700Z-v1.tar.gz.sha256",
    ]


@pytest.mark.django_db(transaction=True)
def test_the_archive_is_one_snapshot_while_the_tenant_keeps_writing(backup_root):
    owner = tenant("Acme", "acme", owner="alice", retention_days=45)
    populate(owner)
    order = [backups.TENANT_MEMBER] + [f"{m._meta.label_lower}.jsonl" for m in backups.backup_models()]
    # Written between the first member and the records: a later read must not see these rows.
    assert order.index("workflows.record.jsonl") > 1

    def write_meanwhile(name: str) -> None:
        if name != backups.TENANT_MEMBER:
            return

        def insert():  # another connection, committing on its own
            try:
                Record.objects.create(tenant=owner, collection="orders", key="late", fields={})
                Membership.objects.filter(tenant=owner, user__username="erin").delete()
            finally:
                connection.close()

        writer = threading.Thread(target=insert)
        writer.start()
        writer.join()

    out = io.BytesIO()
    manifest = backups.tenant_export(tenant=owner, out=out, on_member=write_meanwhile)

    assert Record.objects.for_tenant(owner).count() == 2  # the write did happen
    assert manifest["counts"]["workflows.record"] == 1
    assert manifest["counts"]["tenants.membership"] == 2
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        keys = [json.loads(line)["key"] for line in tar.extractfile("workflows.record.jsonl").read().splitlines()]
    assert keys == ["A-1"]


@pytest.mark.django_db(transaction=True)
def test_nightly_backups_page_through_tenants_continuing_as_new_and_replay(platform_workers, backup_root):
    for name in ("Acme", "Globex", "Initech"):
        tenant(name, name.lower())
    dormant = tenant("Dormant", "dormant")
    dormant.is_active = False
    dormant.save()

    async def run():
        client = await get_platform_client()
        workflow_id = f"nightly-backups-test-{uuid.uuid4().hex}"
        handle = await client.start_workflow(
            "NightlyBackups",
            NightlyBackupsInput(concurrency=2, page_size=2),
            id=workflow_id,
            task_queue=queues.HOUSEKEEPING.name(),
            result_type=NightlyBackupsResult,
        )
        result = await handle.result()
        first = await client.get_workflow_handle(workflow_id, run_id=handle.first_execution_run_id).fetch_history()
        last = await client.get_workflow_handle(workflow_id).fetch_history()
        replayer = Replayer(workflows=[NightlyBackupsWorkflow], data_converter=client.data_converter)
        for history in (first, last):
            await replayer.replay_workflow(history)
        return result, first, last

    result, first, last = sync.run(run, timeout=90)

    assert result == NightlyBackupsResult(archived=3, failed_tenant_ids=[])
    assert sorted(p.parent.name for p in backup_root.glob("tenants/*/*.tar.gz")) == ["acme", "globex", "initech"]
    # One page of two tenants per run: the first run continued as new, the history never holds them all.
    assert first.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert last.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
