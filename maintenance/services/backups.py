"""Tenant backups: every tenant-owned row exported to a versioned archive, and restored from one.

An archive is a `.tar.gz` holding `manifest.json` (format version, tenant, time, schema version,
row counts and the SHA-256 of every other member) and one JSON-lines file per model,
`<app_label>.<model>.jsonl`. Models are discovered, not listed: every concrete subclass of
`TenantOwned`, plus the tenant's own settings row. Decisions:

- Users are global, so user references (memberships, authors, approvers) are written as
  usernames and restored only for users that exist; a nullable reference to a missing user
  becomes empty, a row that cannot exist without it (a membership, a decision) is skipped.
- API keys are not exported (only their hashes exist): keys must be issued again.
- Every primary key is new on restore (integers from the database, string ids from the field's
  default), and foreign keys are remapped to them, so a restore never collides with the source.
- Media files are referenced by name only; the files themselves are not in the archive.
- The export reads every model in one read-only REPEATABLE READ transaction (PostgreSQL), so
  the archive is one consistent snapshot even while the tenant keeps working.
- The webhook signing secret is exported but never restored: the restored tenant gets a fresh
  one, so two tenants never sign outbound webhooks with the same secret. Receivers of the
  restored tenant's webhooks need its new secret.
"""

import hashlib
import io
import json
import os
import tarfile
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import storages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder

from mono.errors import Conflict, ServiceError
from tenants.models import Tenant, TenantOwned, new_signing_secret

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TENANT_MEMBER = "tenants.tenant.jsonl"
BACKUP_STORAGE = "backups"
#: Never exported: only a hash of each key is stored, and a hash cannot be re-issued.
EXCLUDED_MODELS = frozenset({"tenants.apikey"})
#: The tenant settings an archive records (name, slug and activity stay the target's own).
TENANT_SETTINGS = ("retention_days", "webhook_signing_secret")
#: Recorded but never carried over: a restored tenant signs with a secret of its own.
FRESH_ON_RESTORE = {"webhook_signing_secret": new_signing_secret}
#: Plain-text columns that hold another row's id, remapped like foreign keys.
SOFT_REFERENCES = {("llm.llmusage", "execution_id"): "workflows.workflowexecution"}
BATCH = 500


class _Encoder(DjangoJSONEncoder):
    """Django's encoder, but datetimes and times keep their microseconds."""

    def default(self, o):
        if isinstance(o, datetime | time):
            return o.isoformat()
        return super().default(o)


class BackupInvalid(ServiceError):
    """The archive cannot be restored: bad checksum, unknown format, missing member."""


@dataclass
class RestoreReport:
    tenant_slug: str
    restored: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


# Which models -----------------------------------------------------------------------------------


def backup_models() -> list[type[models.Model]]:
    """Every concrete tenant-owned model except API keys, parents before the rows pointing at them."""
    found = [
        model
        for model in apps.get_models()
        if issubclass(model, TenantOwned) and model._meta.label_lower not in EXCLUDED_MODELS
    ]
    return _dependency_order(found)


def _dependency_order(found: list[type[models.Model]]) -> list[type[models.Model]]:
    by_label = {model._meta.label_lower: model for model in found}
    ordered: list[type[models.Model]] = []
    visiting: set[str] = set()

    def visit(model) -> None:
        label = model._meta.label_lower
        if model in ordered or label in visiting:
            return
        visiting.add(label)
        for parent in _owned_parents(model, by_label):
            visit(parent)
        ordered.append(model)

    for model in sorted(found, key=lambda m: m._meta.label_lower):
        visit(model)
    return ordered


def _owned_parents(model, by_label) -> list[type[models.Model]]:
    parents = [
        f.related_model
        for f in model._meta.concrete_fields
        if f.is_relation and f.related_model._meta.label_lower in by_label and f.related_model is not model
    ]
    parents += [by_label[target] for (label, _), target in SOFT_REFERENCES.items() if label == model._meta.label_lower]
    return parents


def _member_name(model) -> str:
    return f"{model._meta.label_lower}.jsonl"


def schema_version() -> dict[str, str]:
    """The newest applied migration of every app: the schema the rows were written in."""
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder.Migration.objects.values_list("app", "name"):
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


# Export -----------------------------------------------------------------------------------------


def _row(obj, model, usernames: dict[int, str]) -> dict[str, Any]:
    row: dict[str, Any] = {"pk": obj.pk}
    for f in model._meta.concrete_fields:
        if f.name == "tenant" or f.primary_key:
            continue
        value = getattr(obj, f.attname)
        if f.is_relation and f.related_model is get_user_model():
            value = usernames.get(value) if value is not None else None
        elif isinstance(f, models.FileField):
            value = value.name if value else ""
        row[f.name] = value
    return row


def _usernames() -> dict[int, str]:
    user_model = get_user_model()
    return dict(user_model.objects.values_list("pk", user_model.USERNAME_FIELD))


def tenant_export(*, tenant: Tenant, out: IO[bytes], on_member: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the tenant's archive to the binary stream `out`; returns its manifest.

    Every read happens in one read-only transaction; on PostgreSQL its isolation is REPEATABLE
    READ, so all members come from the same snapshot. `on_member(name)` is called after each
    member is written.
    """
    # SET TRANSACTION must be the transaction's first statement: only when this opens it.
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _export(tenant, out, on_member)


def _export(tenant: Tenant, out: IO[bytes], on_member: Callable[[str], None] | None) -> dict[str, Any]:
    usernames = _usernames()
    counts: dict[str, int] = {}
    checksums: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as workdir:
        members: list[str] = []

        def write_member(name: str, rows) -> None:
            path = Path(workdir, name)
            digest, count = hashlib.sha256(), 0
            with path.open("wb") as handle:
                for row in rows:
                    line = (json.dumps(row, cls=_Encoder, sort_keys=True) + "\n").encode()
                    handle.write(line)
                    digest.update(line)
                    count += 1
            members.append(name)
            checksums[name] = digest.hexdigest()
            counts[name.removesuffix(".jsonl")] = count
            if on_member is not None:
                on_member(name)

        write_member(TENANT_MEMBER, [{"pk": tenant.pk, **{name: getattr(tenant, name) for name in TENANT_SETTINGS}}])
        for model in backup_models():
            rows = model._base_manager.filter(tenant=tenant).order_by("pk").iterator(chunk_size=2000)
            write_member(_member_name(model), (_row(obj, model, usernames) for obj in rows))
        manifest = {
            "format_version": FORMAT_VERSION,
            "tenant": {"id": tenant.pk, "slug": tenant.slug, "name": tenant.name},
            "created_at": datetime.now(UTC).isoformat(),
            "schema_version": schema_version(),
            "models": [name.removesuffix(".jsonl") for name in members],
            "counts": counts,
            "sha256": checksums,
        }
        encoded = json.dumps(manifest, indent=2, sort_keys=True).encode()
        with tarfile.open(fileobj=out, mode="w:gz") as archive:
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(encoded)
            archive.addfile(info, io.BytesIO(encoded))
            for name in members:
                archive.add(Path(workdir, name), arcname=name)
    return manifest


@dataclass(frozen=True)
class BackupResult:
    path: str
    sha256: str
    counts: dict[str, int]


def tenant_backup(*, tenant: Tenant, stamp: str | None = None) -> BackupResult:
    """Export the tenant to the `backups` storage: `tenants/<slug>/<stamp>-v<format>.tar.gz`.

    A `<archive>.sha256` file beside it, written last, holds the archive's own checksum. With a
    given `stamp` (the nightly workflow passes its own time) a retry finds the finished archive
    and returns it instead of writing a second one.
    """
    storage = storages[BACKUP_STORAGE]
    stamp = stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"tenants/{tenant.slug}/{stamp}-v{FORMAT_VERSION}.tar.gz"
    if storage.exists(f"{name}.sha256") and storage.exists(name):
        with storage.open(f"{name}.sha256", "rb") as handle:
            digest = handle.read().decode().split()[0]
        with storage.open(name, "rb") as handle, tarfile.open(fileobj=handle, mode="r:gz") as archive:
            counts = json.loads(archive.extractfile(MANIFEST).read())["counts"]
        return BackupResult(path=name, sha256=digest, counts=counts)
    if storage.exists(name):  # left half-written by an interrupted attempt
        storage.delete(name)
    with tempfile.TemporaryFile() as spool:
        manifest = tenant_export(tenant=tenant, out=spool)
        spool.seek(0)
        digest = hashlib.file_digest(spool, "sha256").hexdigest()
        spool.seek(0)
        saved = storage.save(name, File(spool, name=os.path.basename(name)))
    storage.save(f"{saved}.sha256", File(io.BytesIO(f"{digest}  {os.path.basename(saved)}\n".encode())))
    return BackupResult(path=saved, sha256=digest, counts=manifest["counts"])


# Restore ----------------------------------------------------------------------------------------


def _read_archive(source: IO[bytes]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every member, each checked against the manifest's SHA-256."""
    try:
        with tarfile.open(fileobj=source, mode="r:gz") as archive:
            contents = {
                member.name: archive.extractfile(member).read() for member in archive.getmembers() if member.isfile()
            }
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupInvalid({"archive": f"Not a readable .tar.gz archive: {exc}"}) from exc
    if MANIFEST not in contents:
        raise BackupInvalid({"archive": f"The archive has no {MANIFEST}."})
    try:
        manifest = json.loads(contents.pop(MANIFEST))
    except ValueError as exc:
        raise BackupInvalid({"archive": f"{MANIFEST} is not JSON: {exc}"}) from exc
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BackupInvalid(
            {"archive": f"Unknown backup format version {version!r}; this Mono reads {FORMAT_VERSION}."}
        )
    expected = manifest.get("sha256") or {}
    if set(expected) != set(contents):
        missing, extra = sorted(set(expected) - set(contents)), sorted(set(contents) - set(expected))
        raise BackupInvalid({"archive": f"Members differ from the manifest (missing {missing}, unexpected {extra})."})
    for name, data in contents.items():
        if hashlib.sha256(data).hexdigest() != expected[name]:
            raise BackupInvalid({"archive": f"Checksum mismatch for {name}: the archive is damaged or was altered."})
    return manifest, contents


def _check_schema(manifest: dict[str, Any]) -> None:
    applied = set(MigrationRecorder.Migration.objects.values_list("app", "name"))
    newer = sorted(
        f"{app}.{name}" for app, name in manifest.get("schema_version", {}).items() if (app, name) not in applied
    )
    if newer:
        raise BackupInvalid({"archive": f"The archive comes from a newer schema ({', '.join(newer)}); migrate first."})


def _check_empty(tenant: Tenant) -> None:
    owned = [model for model in apps.get_models() if issubclass(model, TenantOwned)]
    used = sorted(model._meta.label for model in owned if model._base_manager.filter(tenant=tenant).exists())
    if used:
        raise Conflict(
            {"tenant": f"Tenant {tenant.slug!r} is not empty ({', '.join(used)}); restore only into an empty tenant."}
        )


def _new_pk(pk_field) -> Any:
    if isinstance(pk_field, models.AutoField | models.BigAutoField | models.SmallAutoField):
        return None
    if pk_field.has_default():
        return pk_field.get_default()
    return f"restored-{uuid.uuid4().hex}"[: pk_field.max_length or None]


def tenant_restore(*, source: IO[bytes], tenant: Tenant) -> RestoreReport:
    """Restore an archive into `tenant`, which must be empty; all or nothing.

    Checks every checksum and the format version before touching the database, then inserts
    the rows model by model (parents first) in one transaction with new primary keys.
    """
    manifest, contents = _read_archive(source)
    _check_schema(manifest)
    known = {model._meta.label_lower: model for model in backup_models()}
    unknown = sorted(set(manifest["models"]) - set(known) - {TENANT_MEMBER.removesuffix(".jsonl")})
    if unknown:
        raise BackupInvalid({"archive": f"The archive holds models this Mono does not know: {', '.join(unknown)}."})
    report = RestoreReport(tenant_slug=tenant.slug)
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        _check_empty(tenant)
        settings_row = json.loads(contents[TENANT_MEMBER].splitlines()[0])
        for name in TENANT_SETTINGS:
            if name in FRESH_ON_RESTORE:
                setattr(tenant, name, FRESH_ON_RESTORE[name]())
            elif name in settings_row:
                setattr(tenant, name, settings_row[name])
        tenant.full_clean()
        tenant.save(update_fields=list(TENANT_SETTINGS))
        user_model = get_user_model()
        users = dict(user_model.objects.values_list(user_model.USERNAME_FIELD, "pk"))
        new_pks: dict[str, dict[Any, Any]] = defaultdict(dict)
        for model in known.values():
            data = contents.get(_member_name(model))
            if data is None:
                continue
            rows = [json.loads(line) for line in data.splitlines() if line.strip()]
            restored, skipped = _restore_model(model, rows, tenant, users, new_pks, set(known))
            if restored:
                report.restored[model._meta.label] = restored
            if skipped:
                report.skipped[model._meta.label] = skipped
    return report


def _restore_model(model, rows, tenant, users, new_pks, owned: set[str]) -> tuple[int, int]:
    label = model._meta.label_lower
    fields = [f for f in model._meta.concrete_fields if f.name != "tenant" and not f.primary_key]
    _check_global_uniques(model, fields, rows)
    objects, old_pks, skipped = [], [], 0
    for row in rows:
        values = {}
        for f in fields:
            if f.name not in row:  # a column added since the backup keeps its default
                continue
            value = row[f.name]
            target = f.related_model._meta.label_lower if f.is_relation else SOFT_REFERENCES.get((label, f.name))
            if value is not None and f.is_relation and f.related_model is get_user_model():
                value = users.get(value)
            elif value not in (None, "") and target in owned:
                mapped = new_pks[target].get(value)
                # A plain-text reference to a row that is gone (e.g. purged) becomes blank.
                value = mapped if mapped is not None or f.is_relation else ""
            elif value is not None and not f.is_relation and not isinstance(f, models.JSONField):
                value = f.to_python(value)
            if value is None and f.is_relation and not f.null:
                break
            values[f.attname] = value
        else:
            pk = _new_pk(model._meta.pk)
            obj = model(tenant=tenant, **values) if pk is None else model(tenant=tenant, pk=pk, **values)
            objects.append(obj)
            old_pks.append(row["pk"])
            continue
        skipped += 1
    # bulk_create stamps auto_now(_add) fields with the current time; the exported ones go back after.
    stamped = [f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    exported = [{name: obj.__dict__.get(name) for name in stamped} for obj in objects]
    created = []
    for start in range(0, len(objects), BATCH):
        created += model._base_manager.bulk_create(objects[start : start + BATCH])
    new_pks[label].update({old: obj.pk for old, obj in zip(old_pks, created, strict=True)})
    if stamped and created:
        for obj, values in zip(created, exported, strict=True):
            obj.__dict__.update({name: value for name, value in values.items() if value is not None})
        model._base_manager.bulk_update(created, stamped, batch_size=BATCH)
    return len(created), skipped


def _check_global_uniques(model, fields, rows) -> None:
    """A column unique across tenants (e.g. an integration's endpoint slug) must not be taken."""
    for f in fields:
        if not f.unique or f.is_relation:
            continue
        values = [row[f.name] for row in rows if row.get(f.name) not in (None, "")]
        if values and model._base_manager.filter(**{f"{f.name}__in": values}).exists():
            raise Conflict(
                {"archive": f"{model._meta.label}.{f.name} values in the archive are already in use by another tenant."}
            )


def archive_restore(*, path: str, tenant: Tenant) -> RestoreReport:
    """Restore from a file path or a name in the backups storage, checking its `.sha256` file first."""
    storage = storages[BACKUP_STORAGE]
    local = os.path.isfile(path)
    if not local and not storage.exists(path):
        raise BackupInvalid({"archive": f"No archive at {path!r} (a file path or a name in the backups storage)."})

    def read(name: str) -> bytes:
        if local:
            return Path(name).read_bytes()
        with storage.open(name, "rb") as handle:
            return handle.read()

    data = read(path)
    sidecar = f"{path}.sha256"
    if os.path.isfile(sidecar) if local else storage.exists(sidecar):
        expected = read(sidecar).decode().split()[0]
        if hashlib.sha256(data).hexdigest() != expected:
            raise BackupInvalid({"archive": f"Checksum mismatch: {path} does not match {sidecar}."})
    return tenant_restore(source=io.BytesIO(data), tenant=tenant)
