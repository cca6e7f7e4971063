"""Reads for tenants, memberships and API keys."""

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

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
    """Tenants whose workers should run (the worker host's tenant source)."""
    return [
        TenantRef(id=pk, retention_days=days)
        for pk, days in Tenant.objects.filter(is_active=True).values_list("pk", "retention_days")
    ]


def members_by_role(*, tenant_id: int) -> dict[str, int]:
    rows = Membership.objects.for_tenant(tenant_id).values("role").annotate(n=Count("id")).order_by("role")
    return {row["role"]: row["n"] for row in rows}
