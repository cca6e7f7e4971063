"""Approvals: opened and closed by the interpreter, decided by people through the API/admin."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from temporalio.client import WorkflowUpdateFailedError

from audit.models import AuditAction
from audit.services import audit_record
from mono.errors import Conflict, PermissionDenied
from mono.events import DomainEvent, emit
from mono.temporal import sync
from mono.temporal.client import get_tenant_client
from tenants.models import Membership, Role
from workflows.models import ApprovalDecision, ApprovalRequest, ApprovalStatus, StepStatus, WorkflowExecution
from workflows.services.steps import step_record
from workflows.temporal.types import ApprovalState, ApprovalVote
from workflows.temporal.workflows import InterpreterWorkflow


def eligible_usernames(*, tenant_id: int, approvers: list[str], starter: str | None = None) -> list[str]:
    """Members named in `approvers`, directly or by role (`owner`, `admin`, ...), except `starter`
    (the run's starter, left out unless the node allows them)."""
    roles = [name for name in approvers if name in Role.values]
    members = Membership.objects.for_tenant(tenant_id).select_related("user")
    names = {m.user.username for m in members if m.user.username in approvers or m.role in roles}
    names.discard(starter)
    return sorted(names)


@transaction.atomic
def approval_open(
    *,
    tenant_id: int,
    execution_id: str,
    node_id: str,
    approvers: list[str],
    quorum: str,
    on_timeout: str,
    timeout_seconds: int | None,
    message: str = "",
    allow_starter: bool = False,
) -> ApprovalRequest:
    """Open the run's approval at `node_id` (idempotent). A run that has already ended (cancelled
    while this activity was in flight) gets it closed at once, so no approval outlives its run.
    The run's starter is not among the eligible unless `allow_starter`: nobody approves their own
    request by default."""
    # The run's row lock orders this against `execution_finish`, which closes what is open.
    execution = (
        WorkflowExecution.objects.for_tenant(tenant_id)
        .select_for_update(of=("self",))
        .select_related("started_by")
        .get(pk=execution_id)
    )
    starter = None if allow_starter or execution.started_by is None else execution.started_by.username
    deadline = timezone.now() + timezone.timedelta(seconds=timeout_seconds) if timeout_seconds else None
    approval, created = ApprovalRequest.objects.for_tenant(tenant_id).get_or_create(
        execution_id=execution_id,
        node_id=node_id,
        defaults={
            "tenant_id": tenant_id,
            "approvers": approvers,
            "eligible_usernames": eligible_usernames(tenant_id=tenant_id, approvers=approvers, starter=starter),
            "quorum": quorum,
            "on_timeout": on_timeout,
            "message": message,
            "deadline": deadline,
        },
    )
    if created:  # a retried activity announces nothing twice
        _announce_requested(approval)
    step_record(
        tenant_id=tenant_id,
        execution_id=execution_id,
        node_id=node_id,
        node_type="ApprovalNode",
        status=StepStatus.WAITING,
        output={"approval_id": approval.pk, "eligible": approval.eligible_usernames},
    )
    if execution.is_finished:
        approval_close(tenant_id=tenant_id, approval_id=approval.pk, status=ApprovalStatus.CANCELLED)
        approval.refresh_from_db()
    return approval


def approvals_close_pending(*, tenant_id: int, execution_id: str) -> None:
    """Close, as cancelled, every approval of the run still pending (the run has ended)."""
    pending = ApprovalRequest.objects.for_tenant(tenant_id).filter(
        execution_id=execution_id, status=ApprovalStatus.PENDING
    )
    for approval_id in pending.values_list("pk", flat=True):
        approval_close(tenant_id=tenant_id, approval_id=approval_id, status=ApprovalStatus.CANCELLED)


def approval_record_vote(*, tenant_id: int, approval_id: int, username: str, decision: str, comment: str = "") -> None:
    user = get_user_model().objects.get(username=username)
    ApprovalDecision.objects.get_or_create(
        tenant_id=tenant_id,
        approval_id=approval_id,
        user=user,
        defaults={"decision": decision, "comment": comment},
    )


@transaction.atomic
def approval_close(*, tenant_id: int, approval_id: int, status: str, timed_out: bool = False) -> None:
    approval = ApprovalRequest.objects.for_tenant(tenant_id).select_for_update().get(pk=approval_id)
    if approval.status != ApprovalStatus.PENDING:
        return  # already closed: a retried activity changes and announces nothing twice
    approval.status = status
    approval.timed_out = timed_out
    approval.decided_at = timezone.now()
    approval.save(update_fields=["status", "timed_out", "decided_at"])
    emit(
        DomainEvent(
            "approval.decided",
            tenant_id,
            approval.execution_id,
            {
                "approval_id": approval.pk,
                "node_id": approval.node_id,
                "status": status,
                "timed_out": timed_out,
                "seconds": (approval.decided_at - approval.created_at).total_seconds(),
            },
        )
    )
    step_status = StepStatus.CANCELLED if status == ApprovalStatus.CANCELLED else StepStatus.COMPLETED
    step_record(
        tenant_id=tenant_id,
        execution_id=approval.execution_id,
        node_id=approval.node_id,
        node_type="ApprovalNode",
        status=step_status,
        output={"decision": status, "timed_out": timed_out},
    )


def approval_decide(*, approval: ApprovalRequest, user, decision: str, comment: str = "") -> ApprovalState:
    """Vote on a pending approval. The workflow's update validator has the last word."""
    if approval.status != ApprovalStatus.PENDING:
        raise Conflict(f"This approval is already {approval.status}.")
    if user.username not in approval.eligible_usernames:
        raise PermissionDenied("You are not an approver of this step.")
    if approval.decisions.filter(user=user).exists():
        raise Conflict("You have already decided on this approval.")
    vote = ApprovalVote(node_id=approval.node_id, username=user.username, decision=decision, comment=comment)

    async def send_vote() -> ApprovalState:
        client = await get_tenant_client(approval.tenant_id)
        handle = client.get_workflow_handle_for(InterpreterWorkflow.run, approval.execution_id)
        return await handle.execute_update(InterpreterWorkflow.decide, vote)

    state = _send_vote(approval, send_vote)
    # Only votes the workflow accepted are audited; the free-text comment stays out of the log.
    audit_record(
        tenant=approval.tenant_id,
        action=AuditAction.APPROVAL_DECIDED,
        target=approval,
        actor=user,
        data={"decision": decision, "execution_id": approval.execution_id, "node_id": approval.node_id},
    )
    return state


def _send_vote(approval: ApprovalRequest, send_vote) -> ApprovalState:
    try:
        return sync.run(send_vote)
    except WorkflowUpdateFailedError as exc:
        if getattr(exc.cause, "type", "") == "NotApprover":
            raise PermissionDenied("You are not an approver of this step.") from exc
        raise Conflict(str(exc.cause or exc)) from exc


def _announce_requested(approval: ApprovalRequest) -> None:
    emit(
        DomainEvent(
            "approval.requested",
            approval.tenant_id,
            approval.execution_id,
            {"approval_id": approval.pk, "node_id": approval.node_id, "eligible": approval.eligible_usernames},
        )
    )
