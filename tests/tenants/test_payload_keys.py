"""Temporal payload keys: wrapped at rest, rotated by command, re-wrapped after a master key change."""

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from mono.kernel import aead
from mono.temporal.client import tenant_namespace
from tenants import keys
from tenants.models import PayloadKey

pytestmark = pytest.mark.django_db


def test_rotate_tenant_key_makes_a_new_current_key_and_keeps_the_old_one_readable(acme, capsys):
    namespace = tenant_namespace(acme.pk)
    old_id, old_key = keys.payload_key_current(namespace=namespace)
    call_command("rotate_tenant_key", "--tenant", "acme")
    new_id, new_key = keys.payload_key_current(namespace=namespace)
    assert new_id != old_id and new_key != old_key
    assert f"{namespace}: new payload key {new_id}" in capsys.readouterr().out
    assert keys.payload_key_get(namespace=namespace, key_id=old_id) == old_key
    assert PayloadKey.objects.get(key_id=old_id).retired_at is not None
    assert AuditEvent.objects.for_tenant(acme).filter(action="payload_key.rotated").count() == 1
    # Stored wrapped: the raw key bytes are nowhere in the row.
    assert old_key not in bytes(PayloadKey.objects.get(key_id=old_id).wrapped_key)


def test_a_key_is_only_found_in_its_own_namespace(acme, globex):
    key_id, _ = keys.payload_key_current(namespace=tenant_namespace(acme.pk))
    assert keys.payload_key_get(namespace=tenant_namespace(globex.pk), key_id=key_id) is None


def test_platform_key_rotates_and_unknown_tenant_is_refused(capsys):
    first, _ = keys.payload_key_current(namespace="mono-platform")
    call_command("rotate_tenant_key", "--platform")
    assert keys.payload_key_current(namespace="mono-platform")[0] != first
    with pytest.raises(CommandError, match="nope"):
        call_command("rotate_tenant_key", "--tenant", "nope")


def test_rewrap_after_a_master_key_change_keeps_every_key(acme, settings):
    namespace = tenant_namespace(acme.pk)
    key_id, raw = keys.payload_key_current(namespace=namespace)
    old_master = settings.PAYLOAD_MASTER_KEY
    settings.PAYLOAD_MASTER_KEY = aead.encode_key(aead.new_key())
    with pytest.raises(aead.SealBroken, match="PAYLOAD_MASTER_KEYS_PREVIOUS"):
        keys.payload_key_get(namespace=namespace, key_id=key_id)
    settings.PAYLOAD_MASTER_KEYS_PREVIOUS = [old_master]
    call_command("rewrap_payload_keys")
    settings.PAYLOAD_MASTER_KEYS_PREVIOUS = []
    assert keys.payload_key_get(namespace=namespace, key_id=key_id) == raw
