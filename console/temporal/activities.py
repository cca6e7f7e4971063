"""The reminder's activity: sync, one dataclass in, a small dataclass out."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from console import approval_mail
from console.temporal.types import ApprovalReminder, ApprovalReminderSent
from mono.temporal.client import tenant_namespace


@activity.defn(name="approval_remind")
def approval_remind(data: ApprovalReminder) -> ApprovalReminderSent:
    # Act only for the tenant whose namespace this runs in, never for one a payload names.
    if activity.info().workflow_namespace != tenant_namespace(data.tenant_id):
        raise ApplicationError("the reminder names another tenant than its namespace", non_retryable=True)
    return ApprovalReminderSent(
        sent=approval_mail.approval_remind(tenant_id=data.tenant_id, approval_id=data.approval_id)
    )


ALL = [approval_remind]
