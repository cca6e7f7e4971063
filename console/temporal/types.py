"""Dataclasses passed between the approval reminder workflow and its activity."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ApprovalReminder:
    tenant_id: int
    approval_id: int
    remind_at: datetime  # UTC; the workflow sleeps until then (at once if it has passed)


@dataclass(frozen=True)
class ApprovalReminderSent:
    sent: int  # messages queued (0 when the approval had closed or everyone had voted)
