"""The agent node's activities: sync functions on the worker's thread pool, one dataclass each,
each calling one service of `workflows.services.agent` (idempotent per turn and tool call).

Model turns and tool calls may take a while; they heartbeat from a helper thread so that a worker
killed mid-call is noticed within the heartbeat timeout rather than the whole start-to-close timeout.
"""

import contextlib
import contextvars
import threading
from collections.abc import Iterator

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.services import agent
from workflows.services.steps import StepError
from workflows.temporal.types import (
    AgentBegun,
    AgentChildDone,
    AgentChildPrepared,
    AgentInput,
    AgentResult,
    AgentToolRef,
    AgentTurn,
    AgentTurnResult,
)

HEARTBEAT_SECONDS = 2.0


@contextlib.contextmanager
def _heartbeating() -> Iterator[None]:
    """Heartbeat every `HEARTBEAT_SECONDS` while the body runs (the SDK's sync heartbeat is thread-safe)."""
    stop = threading.Event()
    context = contextvars.copy_context()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            context.run(activity.heartbeat)

    thread = threading.Thread(target=beat, name="agent-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def _business_failures() -> Iterator[None]:
    try:
        yield
    except StepError as exc:
        raise ApplicationError(str(exc), type="StepError", non_retryable=True) from exc


@activity.defn(name="agent_begin")
def agent_begin(data: AgentInput) -> AgentBegun:
    with _business_failures():
        transcript_id = agent.agent_begin(
            tenant_id=data.tenant_id,
            execution_id=data.execution_id,
            node_id=data.node_id,
            data=data.data,
            variables=data.variables,
        )
    return AgentBegun(transcript_id)


@activity.defn(name="agent_turn")
def agent_turn(data: AgentTurn) -> AgentTurnResult:
    with _business_failures(), _heartbeating():
        view = agent.agent_turn(tenant_id=data.tenant_id, transcript_id=data.transcript_id, turn=data.turn)
    return AgentTurnResult(**view)


@activity.defn(name="agent_tool_call")
def agent_tool_call(data: AgentToolRef) -> None:
    with _business_failures(), _heartbeating():
        agent.agent_tool_call(
            tenant_id=data.tenant_id,
            transcript_id=data.transcript_id,
            turn=data.turn,
            index=data.index,
            attempt=activity.info().attempt,
        )


@activity.defn(name="agent_child_prepare")
def agent_child_prepare(data: AgentToolRef) -> AgentChildPrepared:
    with _business_failures():
        prepared = agent.agent_child_prepare(
            tenant_id=data.tenant_id,
            transcript_id=data.transcript_id,
            turn=data.turn,
            index=data.index,
            attempt=activity.info().attempt,
        )
    return AgentChildPrepared(**prepared)


@activity.defn(name="agent_child_finish")
def agent_child_finish(data: AgentChildDone) -> None:
    agent.agent_child_finish(
        tenant_id=data.tenant_id,
        transcript_id=data.transcript_id,
        turn=data.turn,
        index=data.index,
        status=data.status,
        output=data.output,
        error=data.error,
    )


@activity.defn(name="agent_conclude")
def agent_conclude(data: AgentTurn) -> AgentResult:
    with _business_failures():
        return AgentResult(
            agent.agent_conclude(tenant_id=data.tenant_id, transcript_id=data.transcript_id, turn=data.turn)
        )


ALL = [agent_begin, agent_turn, agent_tool_call, agent_child_prepare, agent_child_finish, agent_conclude]
