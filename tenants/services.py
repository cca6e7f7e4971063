"""Writes for tenants, memberships and API keys."""

import concurrent.futures
import logging
import pickle
import queue
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from mono import events
from mono.errors import PermissionDenied
from mono.kernel.ttl import TTLCache
from mono.temporal import queues, registry, sync
from mono.temporal.client import connect, get_platform_client, get_tenant_client
from mono.temporal.namespaces import (
    NamespaceResult,
    TemporalNamespaceManager,
    TenantNamespaceSpec,
)
from mono.temporal.pollers import describe_pollers
from mono.temporal.workers import TenantRef, WorkerSelection, desired_workers
from tenants import selectors
from tenants.models import ApiKey, Membership, Role, Tenant
from tenants.temporal.types import PlatformProbeInput, TenantProbeInput
from tenants.temporal.workflows import PlatformProbeWorkflow, TenantProbeWorkflow

logger = logging.getLogger(__name__)
User = get_user_model()


# Tenants ---------------------------------------------------------------------------------------


@transaction.atomic
def tenant_create(*, name: str, slug: str, retention_days: int = 90, owner=None) -> Tenant:
    """Create a tenant (and its owner's membership); its namespace follows after commit."""
    tenant = Tenant(name=name, slug=slug, retention_days=retention_days)
    tenant.full_clean()
    tenant.save()
    if owner is not None:
        membership_add(tenant=tenant, user=owner, role=Role.OWNER)
    transaction.on_commit(lambda: tenant_namespace_provision_quietly(tenant=tenant))
    return tenant


@transaction.atomic
def tenant_update(*, tenant: Tenant, **fields) -> Tenant:
    """Change name, active flag or retention; a retention change reaches Temporal after commit."""
    allowed = {"name", "is_active", "retention_days"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({field: "This field cannot be changed." for field in unknown})
    retention_changed = "retention_days" in fields and fields["retention_days"] != tenant.retention_days
    for field, value in fields.items():
        setattr(tenant, field, value)
    tenant.full_clean()
    tenant.save(update_fields=[*fields, "updated_at"])  # worker hosts read changes by updated_at
    api_key_cache_clear()  # keys resolved with the old tenant (e.g. still active) are stale
    if retention_changed:
        transaction.on_commit(lambda: tenant_namespace_provision_quietly(tenant=tenant))
    return tenant


def tenant_namespace_provision(*, tenant: Tenant) -> NamespaceResult:
    """Create or update the tenant's Temporal namespace now (raises if Temporal is down)."""
    spec = TenantNamespaceSpec(tenant.pk, tenant.retention_days, description=tenant.name)

    async def provision() -> NamespaceResult:
        return await TemporalNamespaceManager(await connect()).ensure_tenant(spec)

    return sync.run(provision)


def tenant_namespace_provision_quietly(*, tenant: Tenant) -> NamespaceResult | None:
    """Provision after commit without failing the caller: the tenant row is already saved, and
    `runworkers` (which ensures each namespace before hosting it) or `provision_namespaces`
    will finish the job if Temporal is unreachable now."""
    try:
        return tenant_namespace_provision(tenant=tenant)
    except Exception as exc:
        # One line: the tenant is saved and nothing is lost, so the reason is all an operator needs
        # (the traceback is logged at DEBUG, which `create_tenant -v 2` shows).
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        logger.warning(
            "Tenant %s is saved; its Temporal namespace will be provisioned later (runworkers or "
            "provision_namespaces do it once Temporal answers): %s",
            tenant.slug,
            reason,
        )
        logger.debug("namespace provisioning of tenant %s failed", tenant.slug, exc_info=True)
        return None


def namespaces_provision(
    *,
    tenants: Iterable[Tenant],
    include_platform: bool = True,
    on_result: Callable[[NamespaceResult], None] | None = None,
    concurrency: int = 8,
) -> list[NamespaceResult]:
    """Provision the platform namespace and the given tenants' namespaces.

    A tenant that fails is reported (action `failed`) and the others go on; running it again
    resumes, since every step is idempotent. `on_result` is called in the caller's thread as
    each namespace is done (progress output never comes from the portal thread)."""
    specs = [TenantNamespaceSpec(t.pk, t.retention_days, description=t.name) for t in tenants]
    done: queue.SimpleQueue[NamespaceResult] = queue.SimpleQueue()

    async def provision() -> list[NamespaceResult]:
        manager = TemporalNamespaceManager(await connect())
        results = []
        if include_platform:
            results.append(await manager.ensure_platform())
            done.put(results[0])
        return results + await manager.ensure_tenants(specs, concurrency=concurrency, on_result=done.put)

    future = sync.submit(provision)
    try:
        while True:
            try:
                results = future.result(timeout=0.1)
            except concurrent.futures.TimeoutError:
                results = None
            while on_result and not done.empty():
                on_result(done.get())
            if results is not None:
                return results
    except BaseException:
        future.cancel()  # Ctrl-C or a failing callback: stop the rest before the process exits
        raise


# Members ---------------------------------------------------------------------------------------

OWNER_ONLY_MESSAGE = "Only an owner of this tenant can grant or remove the owner role."
UNKNOWN_MEMBER_MESSAGE = (
    "No user {username!r} among the members of the tenants you administer. "
    "Ask an operator to add people who are new to the platform."
)


def user_get_or_create(*, username: str):
    user, _ = User.objects.get_or_create(username=username)
    return user


def actor_may_manage_owners(*, tenant: Tenant | int, actor) -> bool:
    """Whether `actor` may grant or remove `owner` in `tenant`.

    An owner of the tenant may. So may the platform itself: `actor=None` (management commands,
    tenant creation) and a superuser (an operator, who could run those commands anyway). A tenant
    admin may not: otherwise they could make themself owner and then remove the owners.
    """
    if actor is None or getattr(actor, "is_superuser", False):
        return True
    return Membership.objects.for_tenant(tenant).filter(user=actor, role=Role.OWNER).exists()


def _ensure_owner_change_allowed(*, tenant: Tenant | int, actor, before: str | None, after: str | None) -> None:
    if before == after or Role.OWNER not in (before, after):
        return
    if not actor_may_manage_owners(tenant=tenant, actor=actor):
        raise PermissionDenied(OWNER_ONLY_MESSAGE)


@transaction.atomic
def membership_add_by_username(*, tenant: Tenant, username: str, role: str, actor) -> Membership:
    """Add (or change the role of) a member named by `actor`; see `selectors.member_candidate_get` for who
    can be named. Anyone else answers the same 400 on `username`, whether the account exists or not."""
    user = selectors.member_candidate_get(actor=actor, username=username)
    if user is None:
        raise ValidationError({"username": UNKNOWN_MEMBER_MESSAGE.format(username=username)})
    return membership_add(tenant=tenant, user=user, role=role, actor=actor)


@transaction.atomic
def membership_add(*, tenant: Tenant, user, role: str, actor=None) -> Membership:
    """Add `user` to `tenant` with `role`, or change the role of an existing member.

    Granting `owner` needs an owner (or the platform) as `actor`: `PermissionDenied` otherwise.
    """
    membership = Membership.objects.for_tenant(tenant).filter(user=user).first()
    if membership is None:
        _ensure_owner_change_allowed(tenant=tenant, actor=actor, before=None, after=role)
        membership = Membership(tenant=tenant, user=user, role=role)
        membership.full_clean(validate_constraints=False)
        membership.save()
        events.audit(
            tenant=tenant,
            action="member.added",
            target=membership,
            actor=actor,
            data={"username": user.get_username(), "role": role},
        )
        return membership
    return membership_set_role(membership=membership, role=role, actor=actor)


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, actor=None) -> Membership:
    """Change a member's role; to or from `owner` only with an owner (or the platform) as `actor`."""
    # The stored role, not the instance's: a form may have set the new role on it already.
    previous = Membership.objects.for_tenant(membership.tenant_id).values_list("role", flat=True).get(pk=membership.pk)
    _ensure_owner_change_allowed(tenant=membership.tenant_id, actor=actor, before=previous, after=role)
    if previous == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(membership)
    membership.role = role
    membership.full_clean(validate_constraints=False)
    membership.save(update_fields=["role"])
    api_key_cache_clear()
    if role != previous:
        events.audit(
            tenant=membership.tenant_id,
            action="member.role_changed",
            target=membership,
            actor=actor,
            data={"username": membership.user.get_username(), "from": previous, "to": role},
        )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor=None) -> None:
    """Remove a member and revoke their keys; an owner only by an owner (or the platform)."""
    previous = Membership.objects.for_tenant(membership.tenant_id).values_list("role", flat=True).get(pk=membership.pk)
    _ensure_owner_change_allowed(tenant=membership.tenant_id, actor=actor, before=previous, after=None)
    if previous == Role.OWNER:
        _ensure_another_owner(membership)
    # The member's keys act as the member, so they stop working with the membership.
    revoked = (
        ApiKey.objects.for_tenant(membership.tenant_id)
        .filter(user_id=membership.user_id, revoked_at=None)
        .update(revoked_at=timezone.now())
    )
    events.audit(  # before delete(): the row must still have its id
        tenant=membership.tenant_id,
        action="member.removed",
        target=membership,
        actor=actor,
        data={"username": membership.user.get_username(), "role": previous, "credentials_revoked": revoked},
    )
    membership.delete()
    api_key_cache_clear()


def _ensure_another_owner(membership: Membership) -> None:
    others = (
        Membership.objects.for_tenant(membership.tenant_id)
        .select_for_update()
        .filter(role=Role.OWNER)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise ValidationError({"role": "A tenant must keep at least one owner."})


# API keys --------------------------------------------------------------------------------------


@transaction.atomic
def api_key_create(*, tenant: Tenant, user, name: str, actor=None) -> tuple[ApiKey, str]:
    """Create a key for a member; returns the row and the only copy of the full key."""
    if not Membership.objects.for_tenant(tenant).filter(user=user).exists():
        raise ValidationError({"user": f"{user} is not a member of tenant {tenant.slug}."})
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey(
        tenant=tenant,
        user=user,
        name=name,
        key_id=key_id,
        secret_hash=ApiKey.hash_secret(secret),
    )
    api_key.full_clean()
    api_key.save()
    events.audit(
        tenant=tenant,
        action="api_key.created",
        target=api_key,
        actor=actor,
        data={"name": name, "prefix": f"{ApiKey.PREFIX}{key_id}", "owner": user.get_username()},
    )
    return api_key, f"{ApiKey.PREFIX}{key_id}_{secret}"


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor=None) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        api_key_cache_clear()
        events.audit(
            tenant=api_key.tenant_id,
            action="api_key.revoked",
            target=api_key,
            actor=actor,
            data={"name": api_key.name, "prefix": f"{ApiKey.PREFIX}{api_key.key_id}"},
        )
    return api_key


# Last-used times are written at most this often per key, to keep authentication read-only
# on the hot path.
LAST_USED_RESOLUTION_SECONDS = 60


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None; notes when it was last used.

    The key comes with its tenant, user and `membership` (None if the user left the tenant)
    loaded, from a per-process cache kept `API_KEY_CACHE_SECONDS` (default 5): every API request
    authenticates, and this saves it two queries. The secret is checked on every call. Changes
    made in this process (revoking a key, a role change, removing a member, deactivating a
    tenant) clear the cache at once; other processes see them within the cache time.
    """
    if not raw_key.startswith(ApiKey.PREFIX):
        return None
    key_id, sep, secret = raw_key[len(ApiKey.PREFIX) :].partition("_")
    if not sep:
        return None
    cached = _api_keys.get(key_id)
    api_key = pickle.loads(cached) if cached is not None else None  # noqa: S301 (pickled by this process)
    if api_key is None:
        api_key = ApiKey.objects.select_related("tenant", "user").filter(key_id=key_id, revoked_at=None).first()
        if api_key is None:
            return None
        api_key.membership = Membership.objects.for_tenant(api_key.tenant).filter(user_id=api_key.user_id).first()
        if api_key.membership is not None:
            api_key.membership.tenant = api_key.tenant
        _api_keys.put(key_id, pickle.dumps(api_key))
    if not secrets.compare_digest(api_key.secret_hash, ApiKey.hash_secret(secret)):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
        _api_keys.put(key_id, pickle.dumps(api_key))
    return api_key


# Resolved keys by key id, pickled: every hit unpickles a fresh copy, so a request that changes
# its tenant or user object never changes what the next request sees.
_api_keys: TTLCache[bytes] = TTLCache(lambda: settings.API_KEY_CACHE_SECONDS)


def api_key_cache_clear() -> None:
    """Forget every resolved key in this process, now and again once the change commits (a
    request between the two could cache the state from before the change)."""
    _api_keys.clear()
    transaction.on_commit(_api_keys.clear)


# Probes ----------------------------------------------------------------------------------------

PROBE_TIMEOUT_SECONDS = 30.0


def tenant_probe_run(*, tenant: Tenant):
    """Run the probe workflow in the tenant's namespace and wait for its answer."""
    return _run_probe(
        namespace_client=lambda: get_tenant_client(tenant),
        run=TenantProbeWorkflow.run,
        arg=TenantProbeInput(tenant_id=tenant.pk),
        workflow_id=f"tenant-probe-{tenant.pk}",
        task_queue=queues.WORKFLOWS.name(tenant.pk),
    )


def platform_probe_run(*, requested_by: str = ""):
    """Run the probe workflow in the platform namespace and wait for its answer."""
    return _run_probe(
        namespace_client=get_platform_client,
        run=PlatformProbeWorkflow.run,
        arg=PlatformProbeInput(requested_by=requested_by),
        workflow_id="platform-probe",
        task_queue=queues.PLATFORM.name(),
    )


def _run_probe(*, namespace_client, run, arg, workflow_id: str, task_queue: str):
    async def execute():
        client = await namespace_client()
        # Concurrent probes of one namespace share a run instead of failing on the id.
        return await client.execute_workflow(
            run,
            arg,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            execution_timeout=timedelta(seconds=PROBE_TIMEOUT_SECONDS),
        )

    return sync.run(execute, timeout=PROBE_TIMEOUT_SECONDS + 5)


def workers_poller_report(*, tenant_ids: list[int]) -> list[dict]:
    """Temporal's view of the pollers on every queue the platform and these tenants need; each row
    says whether its queue is `standing` (always polled) or started on demand (idle is normal)."""
    tenants = [TenantRef(id=tenant_id) for tenant_id in tenant_ids]
    selection = WorkerSelection()
    desired = desired_workers(selection, registry.registrations(), tenants)
    rows = sync.run(lambda: describe_pollers(list(desired)), timeout=None)
    for row in rows:
        row["standing"] = selection.is_standing(desired[(row["namespace"], row["task_queue"])][0])
    return rows
