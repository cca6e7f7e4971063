"""The approval reminder: one durable timer per approval with a deadline, then one activity.

Its id is `approval-reminder-{approval_id}`, so an approval is reminded about once at most. The
interpreter is left untouched: the reminder lives beside the run, and finding the approval closed
when it wakes is its normal way to end without a word.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from console.temporal.types import ApprovalReminder, ApprovalReminderSent


@workflow.defn(name="ApprovalReminderWorkflow")
class ApprovalReminderWorkflow:
    @workflow.run
    async def run(self, reminder: ApprovalReminder) -> ApprovalReminderSent:
        wait = reminder.remind_at - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait)
        return await workflow.execute_activity(
            "approval_remind",
            reminder,
            result_type=ApprovalReminderSent,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=5),
        )
