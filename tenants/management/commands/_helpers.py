"""Shared bits of the tenants app's management commands."""

from django.core.management.base import CommandError

from tenants.models import Tenant
from tenants.selectors import tenant_get_by_slug


def tenant_or_error(slug: str) -> Tenant:
    tenant = tenant_get_by_slug(slug=slug)
    if tenant is None:
        raise CommandError(f"Unknown tenant slug {slug!r}.")
    return tenant


def validation_message(exc) -> str:
    """A Django ValidationError as one readable line: `field: message; field: message`."""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)
