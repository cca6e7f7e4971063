"""What the console app runs on Temporal workers (found by mono.temporal.registry)."""

from console.temporal import activities
from console.temporal.workflows import ApprovalReminderWorkflow
from mono.temporal import queues
from mono.temporal.registry import register

register(queues.WORKFLOWS, workflows=[ApprovalReminderWorkflow], activities=activities.ALL)
