"""Approval e-mails: each eligible approver hears that an approval waits for them.

`approval_requested_notify` is a `mono.events` subscriber: it runs once the transaction that
opened the approval has committed, so no mail announces an approval that was rolled back. Each
message is a single send on the tenant's e-mail queue (`jobs.services.email.email_send`: a row
per recipient, retries, recorded outcome). The message text is fixed here and filled from
variables, so nothing a run wrote (the approval message) is ever evaluated as a template.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from console.approval_links import approval_link_url
from console.temporal.types import ApprovalReminder
from console.temporal.workflows import ApprovalReminderWorkflow
from jobs.services.email import email_send
from mono.errors import ServiceError
from mono.events import DomainEvent
from mono.temporal import queues, sync
from mono.temporal.client import get_tenant_client
from workflows.models import ApprovalRequest, ApprovalStatus

logger = logging.getLogger(__name__)

SUBJECT = "Approval needed: {{ workflow }}"
BODY = """Hello {{ username }},

A run of "{{ workflow }}" waits for your decision at step {{ node_id }}.
{% if message %}
{{ message }}
{% endif %}
Run: {{ run_id }}{% if starter %} (started by {{ starter }}){% endif %}
{% if deadline %}Decide by: {{ deadline }}
{% endif %}
Approve: {{ approve_url }}

Reject: {{ reject_url }}

Each link asks you to confirm before anything is decided and works once. After {{ ttl_hours }} hours
it asks you to sign in first. Your inbox: {{ inbox_url }}
"""


def approval_requested_notify(event: DomainEvent) -> None:
    """Mail every eligible approver of a newly opened approval (other events are ignored)."""
    if event.kind != "approval.requested":
        return
    approval = (
        ApprovalRequest.objects.for_tenant(event.tenant_id)
        .select_related("tenant", "execution__definition", "execution__started_by")
        .filter(pk=event.data["approval_id"])
        .first()
    )
    if approval is None or approval.status != ApprovalStatus.PENDING:
        return
    approval_mail_send(approval=approval)
    approval_reminder_schedule(approval=approval)


def approval_reminder_schedule(*, approval: ApprovalRequest) -> bool:
    """Start the approval's reminder (a durable timer in the tenant's namespace) when it has a
    deadline and `APPROVAL_REMINDER_BEFORE_SECONDS` leaves room before it; whether one started.
    Best effort: a reminder that could not start is logged, the approval is unaffected."""
    before = settings.APPROVAL_REMINDER_BEFORE_SECONDS
    if not approval.deadline or before <= 0:
        return False
    remind_at = approval.deadline - timedelta(seconds=before)
    if remind_at <= timezone.now():
        return False  # the first mail already is the last call
    reminder = ApprovalReminder(tenant_id=approval.tenant_id, approval_id=approval.pk, remind_at=remind_at)

    async def start():
        client = await get_tenant_client(approval.tenant_id)
        try:
            await client.start_workflow(
                ApprovalReminderWorkflow.run,
                reminder,
                id=f"approval-reminder-{approval.pk}",
                task_queue=queues.WORKFLOWS.name(approval.tenant_id),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # an earlier delivery of the event started it

    try:
        sync.run(start)
    except Exception:
        logger.exception("could not start the reminder of approval %s", approval.pk)
        return False
    return True


def approval_remind(*, tenant_id: int, approval_id: int) -> int:
    """Remind the approvers who have not voted on a still pending approval; how many were mailed."""
    approval = (
        ApprovalRequest.objects.for_tenant(tenant_id)
        .select_related("tenant", "execution__definition", "execution__started_by")
        .filter(pk=approval_id, status=ApprovalStatus.PENDING)
        .first()
    )
    if approval is None or not approval.tenant.is_active:
        return 0
    return approval_mail_send(approval=approval, reminder=True)


def approval_mail_send(*, approval: ApprovalRequest, reminder: bool = False) -> int:
    """Queue one message per eligible approver who has an e-mail address and has not voted yet;
    how many were queued."""
    voted = set(approval.decisions.values_list("user__username", flat=True))
    users = (
        get_user_model()
        .objects.filter(username__in=approval.eligible_usernames, is_active=True)
        .exclude(email="")
        .exclude(username__in=voted)
        .order_by("username")
    )
    execution = approval.execution
    base = settings.CONSOLE_BASE_URL.rstrip("/")
    sent = 0
    for user in users:
        links = {
            f"{decision}_url": approval_link_url(
                tenant_id=approval.tenant_id, approval_id=approval.pk, user_id=user.pk, decision=decision
            )
            for decision in ("approve", "reject")
        }
        context = {
            "username": user.get_username(),
            "workflow": execution.definition.name,
            "node_id": approval.node_id,
            "message": approval.message,
            "run_id": execution.pk,
            "starter": execution.started_by.get_username() if execution.started_by else "",
            "deadline": approval.deadline.isoformat(timespec="minutes") if approval.deadline else "",
            "ttl_hours": round(settings.APPROVAL_LINK_TTL_SECONDS / 3600, 1),
            "inbox_url": base + reverse("console:inbox") + f"?tenant={approval.tenant.slug}",
            **links,
        }
        try:
            email_send(
                tenant=approval.tenant,
                to=user.email,
                subject=("Reminder: " if reminder else "") + SUBJECT,
                body=BODY,
                context=context,
            )
        except ServiceError:  # an address the mail path refuses must not keep the others' mail back
            logger.warning("approval %s: no mail for %s (address refused)", approval.pk, user.get_username())
            continue
        sent += 1
    return sent
