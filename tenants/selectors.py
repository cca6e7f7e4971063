"""Reads for tenants, memberships and API keys."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from mono.temporal.workers import TenantRef
from tenants.models import ApiKey, Membership, Role, Tenant


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def tenant_slug(tenant_id: int) -> str | None:
    return Tenant.objects.filter(pk=tenant_id).values_list("slug", flat=True).first()


def membership_get(*, tenant: Tenant, user) -> Membership | None:
    return Membership.objects.for_tenant(tenant).filter(user=user).select_related("tenant").first()


def membership_for_request(*, user, tenant_slug: str | None) -> Membership | None:
    """The membership a session user acts through: the `X-Tenant` slug, else their first in an
    active tenant (their first at all when every tenant of theirs is inactive)."""
    memberships = Membership.objects.filter(user=user).select_related("tenant")
    if tenant_slug:
        return memberships.filter(tenant__slug=tenant_slug).first()
    return memberships.order_by("-tenant__is_active", "created_at", "id").first()


def member_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.for_tenant(tenant).select_related("user")


def member_candidate_get(*, actor, username: str):
    """The user `username` if `actor` may add them to a tenant, else None.

    Adding a member by username never searches the whole platform: the candidate must already
    belong to a tenant in which `actor` is an admin or owner (the tenant being managed included).
    People new to the platform are added by an operator (`manage.py add_member`). A user who does
    not exist and one who exists outside those tenants are indistinguishable to the caller: one
    query, one answer. (Decision recorded in the README, "Members".)
    """
    managed = Membership.objects.filter(user=actor, role__in=(Role.OWNER, Role.ADMIN)).values("tenant_id")
    users = get_user_model().objects.filter(username=username, memberships__tenant_id__in=managed)
    return users.distinct().first()


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).select_related("user")


def active_tenant_refs() -> list[TenantRef]:
    """Tenants whose workers should run (the worker host's full tenant listing)."""
    return [
        TenantRef(id=pk, retention_days=days, updated_at=updated)
        for pk, days, updated in Tenant.objects.filter(is_active=True).values_list("pk", "retention_days", "updated_at")
    ]


def tenant_refs_changed_since(since: datetime, *, page_size: int = 500) -> list[TenantRef]:
    """Tenants created or changed at or after `since`, active or not (the worker host's refresh).

    Read a page at a time in (updated_at, id) order, so a refresh after a mass change does not
    load every row at once."""
    refs: list[TenantRef] = []
    rows = Tenant.objects.filter(updated_at__gte=since).order_by("updated_at", "pk")
    last: tuple | None = None
    while True:
        page = rows
        if last is not None:
            page = page.filter(Q(updated_at__gt=last[0]) | Q(updated_at=last[0], pk__gt=last[1]))
        batch = list(page.values_list("pk", "retention_days", "is_active", "updated_at")[:page_size])
        refs += [TenantRef(id=pk, retention_days=days, active=active, updated_at=at) for pk, days, active, at in batch]
        if len(batch) < page_size:
            return refs
        last = (batch[-1][3], batch[-1][0])


def members_by_role(*, tenant_id: int) -> dict[str, int]:
    rows = Membership.objects.for_tenant(tenant_id).values("role").annotate(n=Count("id")).order_by("role")
    return {row["role"]: row["n"] for row in rows}
