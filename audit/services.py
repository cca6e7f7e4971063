"""Writing the audit log: `audit_record` appends one event; `redact` keeps secrets out of it."""

import re
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from audit.models import AuditEvent
from mono.middleware import current_request_auth, current_request_id
from tenants.models import ApiKey, Tenant

SYSTEM_ACTOR = "system"

# A key whose name contains one of these (any case) is dropped with its value.
SECRET_NAME_PARTS = ("key", "secret", "password", "token", "api_key", "authorization")

# Values that are secrets whatever their key is called: a full Mono API key
# (`mono_<id>_<secret>`) and a Standard Webhooks secret (`whsec_<base64>`), also inside
# longer text such as "Bearer mono_…". The public prefix `mono_<id>` alone is not a secret:
# the API shows it, and it is how people tell their keys apart.
SECRET_VALUE = re.compile(
    rf"{re.escape(ApiKey.PREFIX)}[A-Za-z0-9]+_[A-Za-z0-9_-]|whsec_[A-Za-z0-9+/=]",
    re.IGNORECASE,
)

# Events carry ids, names and statuses, not documents; a longer string is cut (never refused,
# so the log cannot make the change it records fail).
MAX_STRING_LENGTH = 500

Target = models.Model | tuple[str, str | int]
Actor = AbstractBaseUser | ApiKey | None


def redact(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `data` without anything that looks secret, at any depth.

    Drops every key whose name contains `key`, `secret`, `password`, `token`, `api_key` or
    `authorization` (any case), and every string value holding a Mono API key or a webhook
    secret. Long strings are shortened to `MAX_STRING_LENGTH`.
    """
    return _clean_mapping(data)


def audit_record(
    *,
    tenant: Tenant | int,
    action: str,
    target: Target,
    actor: Actor = None,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the tenant's audit log and return it.

    `target` is a saved model instance (recorded as `app_label.model` and its pk) or a
    `(type, id)` pair for something already gone. `actor` is the user who acted, the `ApiKey`
    they acted through, or None for the system. Inside a request the event carries the
    request's id, and a user acting through an API key is labelled with the key's prefix.

    Call it inside the service's transaction, after the change, so the event commits or rolls
    back with what it describes.
    """
    target_type, target_id = _target_ref(target)
    user, actor_label = _actor_ref(actor)
    event = AuditEvent(
        tenant_id=tenant if isinstance(tenant, int) else tenant.pk,
        actor=user,
        actor_label=actor_label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        request_id=current_request_id(),
        data=redact(data or {}),
    )
    # The tenant and actor are rows the caller already holds (and the foreign keys still guard
    # them); checking them again would cost two queries on every audited write.
    event.full_clean(exclude=["tenant", "actor"])
    event.save()
    return event


def _target_ref(target: Target) -> tuple[str, str]:
    if isinstance(target, models.Model):
        if target.pk is None:
            # Django clears the pk of a deleted instance: record before deleting.
            raise ValueError(f"Cannot audit an unsaved or deleted {target._meta.label_lower}; record it first.")
        return target._meta.label_lower, str(target.pk)
    target_type, target_id = target
    return target_type, str(target_id)


def _actor_ref(actor: Actor) -> tuple[AbstractBaseUser | None, str]:
    if actor is None:
        return None, SYSTEM_ACTOR
    if isinstance(actor, ApiKey):
        return actor.user, _api_key_label(actor)
    request_key = current_request_auth()
    if isinstance(request_key, ApiKey) and request_key.user_id == actor.pk:
        return actor, _api_key_label(request_key)
    return actor, actor.get_username()


def _api_key_label(api_key: ApiKey) -> str:
    return f"api key {ApiKey.PREFIX}{api_key.key_id}"


def _is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


def _is_secret_value(value: Any) -> bool:
    return isinstance(value, str) and SECRET_VALUE.search(value) is not None


def _clean_mapping(data: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        str(name): _clean(value)
        for name, value in data.items()
        if not _is_secret_name(str(name)) and not _is_secret_value(value)
    }


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _clean_mapping(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item) for item in value if not _is_secret_value(item)]
    if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
        return value[: MAX_STRING_LENGTH - 1] + "…"
    return value
