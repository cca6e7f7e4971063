"""Tenant resolution and role-based permissions for the API.

Every API request acts in exactly one tenant. An API key fixes it (the key's tenant); a session
user names it with the `X-Tenant: <slug>` header, or gets their first membership. The resolved
tenant and membership are put on the request as `request.tenant` and `request.membership`.

Views say what an action needs with `required_permissions = {"action": Permission}`; anything
not listed needs VIEW for safe methods and EDIT otherwise.
"""

from enum import StrEnum

from rest_framework import exceptions, permissions

from tenants.models import ApiKey, Role
from tenants.selectors import membership_for_request, membership_get

TENANT_HEADER = "X-Tenant"


class Permission(StrEnum):
    VIEW = "view"  # read the tenant's definitions, runs, logs
    APPROVE = "approve"  # decide approvals addressed to the member or their role
    EXECUTE = "execute"  # start and cancel runs
    EDIT = "edit"  # create and change definitions, templates, integrations
    MANAGE = "manage"  # members, API keys, tenant settings


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW}),
    Role.APPROVER: frozenset({Permission.VIEW, Permission.APPROVE}),
    Role.EDITOR: frozenset({Permission.VIEW, Permission.APPROVE, Permission.EXECUTE, Permission.EDIT}),
    Role.ADMIN: frozenset(Permission),
    Role.OWNER: frozenset(Permission),
}


def role_allows(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def resolve_membership(request):
    """The membership this request acts through, or raise a DRF error that says why not."""
    requested_slug = request.headers.get(TENANT_HEADER)
    if isinstance(request.auth, ApiKey):
        tenant = request.auth.tenant
        if requested_slug and requested_slug != tenant.slug:
            raise exceptions.PermissionDenied(f"This API key belongs to another tenant than {requested_slug!r}.")
        # Resolved with the key (and cached with it) by `api_key_authenticate`.
        membership = getattr(request.auth, "membership", None) or membership_get(tenant=tenant, user=request.user)
    else:
        membership = membership_for_request(user=request.user, tenant_slug=requested_slug)
        if membership is None and requested_slug:
            raise exceptions.PermissionDenied(f"You are not a member of a tenant {requested_slug!r} ({TENANT_HEADER}).")
    if membership is None:
        raise exceptions.PermissionDenied("You are not a member of any tenant.")
    if not membership.tenant.is_active:
        raise exceptions.PermissionDenied(f"Tenant {membership.tenant.slug!r} is inactive.")
    return membership


class HasTenantRole(permissions.BasePermission):
    """Resolve the request's tenant, then check the member's role against the action."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        membership = resolve_membership(request)
        request.membership = membership
        request.tenant = membership.tenant
        needed = required_permission(request, view)
        if not role_allows(membership.role, needed):
            self.message = f"Your role {membership.role!r} does not allow {needed.value!r} in this tenant."
            return False
        return True


def required_permission(request, view) -> Permission:
    action = getattr(view, "action", None) or request.method.lower()
    declared = getattr(view, "required_permissions", {})
    if action in declared:
        return declared[action]
    return Permission.VIEW if request.method in permissions.SAFE_METHODS else Permission.EDIT
