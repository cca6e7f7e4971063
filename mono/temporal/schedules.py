"""Temporal Schedules: one idempotent create-or-update, and a delete that tolerates a missing one.

A schedule's wanted configuration is fingerprinted into its action's memo; Temporal rewrites a
cron spec into calendars on its side, so comparing the fingerprint is how `schedule_upsert`
tells an unchanged schedule from a changed one. Updates keep the schedule's paused state and
note, so an operator's pause survives a deploy. Generic: no Django, no app imports.
"""

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

FINGERPRINT_MEMO = "mono_schedule_fingerprint"
CREATED, UPDATED, UNCHANGED, DELETED, ABSENT = "created", "updated", "unchanged", "deleted", "absent"


@dataclass(frozen=True)
class ScheduleDefinition:
    """What one schedule should be: start `workflow(arg)` on `task_queue` at every `cron` time."""

    schedule_id: str
    workflow: str
    task_queue: str
    cron: str
    arg: Any = None
    workflow_id: str = ""
    timezone: str = "UTC"
    overlap: ScheduleOverlapPolicy = ScheduleOverlapPolicy.SKIP
    catchup_window: timedelta = timedelta(hours=1)

    def fingerprint(self) -> str:
        arg = dataclasses.asdict(self.arg) if dataclasses.is_dataclass(self.arg) else self.arg
        wanted = {
            "workflow": self.workflow,
            "task_queue": self.task_queue,
            "cron": self.cron,
            "timezone": self.timezone,
            "arg": arg,
            "workflow_id": self.workflow_id or self.schedule_id,
            "overlap": int(self.overlap),
            "catchup": self.catchup_window.total_seconds(),
        }
        return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()

    def schedule(self, state: ScheduleState | None = None) -> Schedule:
        args = [] if self.arg is None else [self.arg]
        return Schedule(
            action=ScheduleActionStartWorkflow(
                self.workflow,
                args=args,
                id=self.workflow_id or self.schedule_id,
                task_queue=self.task_queue,
                memo={FINGERPRINT_MEMO: self.fingerprint()},
            ),
            spec=ScheduleSpec(cron_expressions=[self.cron], time_zone_name=self.timezone),
            policy=SchedulePolicy(overlap=self.overlap, catchup_window=self.catchup_window),
            state=state or ScheduleState(),
        )


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND


async def schedule_upsert(client: Client, wanted: ScheduleDefinition) -> str:
    """Create the schedule, update it if it differs from `wanted`, or leave it; says which."""
    handle = client.get_schedule_handle(wanted.schedule_id)
    try:
        description = await handle.describe()
    except RPCError as exc:
        if not is_not_found(exc):
            raise
        try:
            await client.create_schedule(wanted.schedule_id, wanted.schedule())
            return CREATED
        except ScheduleAlreadyRunningError:  # created concurrently: fall through to compare
            description = await handle.describe()
    memo = getattr(description.schedule.action, "memo", None) or {}
    current = memo.get(FINGERPRINT_MEMO)
    if current is not None and await _memo_text(client, current) == wanted.fingerprint():
        return UNCHANGED

    def keep_state(update: ScheduleUpdateInput) -> ScheduleUpdate:
        state = update.description.schedule.state
        return ScheduleUpdate(schedule=wanted.schedule(ScheduleState(paused=state.paused, note=state.note)))

    await handle.update(keep_state)
    return UPDATED


async def _memo_text(client: Client, payload) -> Any:
    """A memo value as stored (encrypted by the namespace's codec, or plain from before it)."""
    converter = client.data_converter
    if converter.payload_codec is not None:
        payload = (await converter.payload_codec.decode([payload]))[0]
    return converter.payload_converter.from_payload(payload)


async def schedule_delete(client: Client, schedule_id: str) -> str:
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as exc:
        if not is_not_found(exc):
            raise
        return ABSENT
    return DELETED
