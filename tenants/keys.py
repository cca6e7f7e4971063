"""Data keys of Temporal payloads: stored wrapped by the master key, rotated, re-wrapped.

`PayloadKeyStore` is what `mono.temporal.codec` asks for keys (registered in `TenantsConfig.ready`).
The master key comes from `PAYLOAD_MASTER_KEY`; in DEBUG an empty one is derived from SECRET_KEY so
`make run` works out of the box. Keys are never logged, shown or returned by any API.
"""

import hashlib
import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from mono import events
from mono.kernel import aead
from mono.temporal import codec
from mono.temporal.client import namespace_tenant_id, platform_namespace, tenant_namespace
from mono.temporal.interceptors import with_fresh_connections
from tenants.models import PayloadKey, Tenant

logger = logging.getLogger(__name__)
ROTATED = "payload_key.rotated"


def _master() -> bytes:
    if settings.PAYLOAD_MASTER_KEY:
        return aead.parse_master_key(settings.PAYLOAD_MASTER_KEY)
    # DEBUG only (settings refuse an empty key otherwise): a development key, never for real data.
    return hashlib.sha256(b"mono-dev-payload-master|" + settings.SECRET_KEY.encode()).digest()


def _masters() -> dict[str, bytes]:
    """Every master key this process can unwrap with, by fingerprint (current one first)."""
    keys = [_master(), *(aead.parse_master_key(text) for text in settings.PAYLOAD_MASTER_KEYS_PREVIOUS)]
    return {aead.fingerprint(key): key for key in keys}


def _context(row: PayloadKey) -> str:
    return f"{row.namespace}|{row.key_id}"


def _unwrap(row: PayloadKey) -> bytes:
    master = _masters().get(row.master_fingerprint)
    if master is None:
        raise aead.SealBroken(
            f"payload key {row.key_id} was wrapped by master key {row.master_fingerprint}, which this process "
            "lacks (set PAYLOAD_MASTER_KEYS_PREVIOUS)"
        )
    return aead.unwrap(master, bytes(row.wrapped_key), _context(row))


def _new_row(namespace: str) -> tuple[PayloadKey, bytes]:
    raw = aead.new_key()
    master = _master()
    row = PayloadKey(namespace=namespace, key_id=secrets.token_hex(8), master_fingerprint=aead.fingerprint(master))
    row.wrapped_key = aead.wrap(master, raw, _context(row))
    row.save()
    return row, raw


def payload_key_current(*, namespace: str) -> tuple[str, bytes]:
    """The (key id, key) that encrypts new payloads of `namespace`; the first is made on first use."""
    row = PayloadKey.objects.filter(namespace=namespace, retired_at__isnull=True).first()
    if row is not None:
        return row.key_id, _unwrap(row)
    try:
        with transaction.atomic():
            row, raw = _new_row(namespace)
        return row.key_id, raw
    except IntegrityError:  # another process made it at the same moment: use theirs
        row = PayloadKey.objects.get(namespace=namespace, retired_at__isnull=True)
        return row.key_id, _unwrap(row)


def payload_key_get(*, namespace: str, key_id: str) -> bytes | None:
    row = PayloadKey.objects.filter(namespace=namespace, key_id=key_id).first()
    return None if row is None else _unwrap(row)


class PayloadKeyStore:
    """The codec's key store: database reads on the codec's worker threads, with fresh connections."""

    def current_key(self, namespace: str) -> tuple[str, bytes]:
        return with_fresh_connections(payload_key_current)(namespace=namespace)

    def key(self, namespace: str, key_id: str) -> bytes | None:
        return with_fresh_connections(payload_key_get)(namespace=namespace, key_id=key_id)


@transaction.atomic
def payload_key_rotate(*, namespace: str, actor=None) -> PayloadKey:
    """Retire the namespace's current key and make a new one for new payloads; old payloads stay readable.

    Other processes switch to the new key within `codec.CURRENT_KEY_SECONDS`; until then both keys
    are in use, and both decode everywhere.
    """
    PayloadKey.objects.select_for_update().filter(namespace=namespace, retired_at__isnull=True).update(
        retired_at=timezone.now()
    )
    row, _ = _new_row(namespace)
    tenant_id = namespace_tenant_id(namespace)
    if tenant_id is not None and Tenant.objects.filter(pk=tenant_id).exists():
        data = {"namespace": namespace, "key_id": row.key_id}
        events.audit(tenant=tenant_id, action=ROTATED, target=row, actor=actor, data=data)
    logger.info("payload key of %s rotated: new key %s", namespace, row.key_id)
    transaction.on_commit(lambda: codec.keyring.forget_current(namespace))
    return row


def tenant_payload_key_rotate(*, tenant: Tenant, actor=None) -> PayloadKey:
    return payload_key_rotate(namespace=tenant_namespace(tenant.pk), actor=actor)


def platform_payload_key_rotate(*, actor=None) -> PayloadKey:
    return payload_key_rotate(namespace=platform_namespace(), actor=actor)


@transaction.atomic
def payload_keys_rewrap() -> int:
    """Re-wrap every key not wrapped by the current master key (after a master key change); returns how many."""
    master = _master()
    current = aead.fingerprint(master)
    changed = 0
    for row in PayloadKey.objects.select_for_update().exclude(master_fingerprint=current):
        raw = _unwrap(row)
        row.wrapped_key = aead.wrap(master, raw, _context(row))
        row.master_fingerprint = current
        row.save(update_fields=["wrapped_key", "master_fingerprint"])
        changed += 1
    return changed
