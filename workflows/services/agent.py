"""The agent node's work: model turns through the LLM gateway with native tool calling, and tool calls.

The transcript lives in `AgentTranscript` and only its id crosses Temporal. Every function here is
idempotent per (transcript, turn, call): a turn already answered, or a tool call whose result is
stored, returns what was stored, so an activity retried after a worker crash repeats nothing that
finished. Each tool call is a `StepExecution` named `{agent node}/{turn}.{call}` (type
`AgentToolCall`) with its arguments, result, duration and cost, so the monitor shows it under the agent.
"""

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from llm import services as llm_services
from llm.models import LLMUsage
from llm.providers.base import ChatMessage, ToolCall, ToolSpec
from mono.errors import ServiceError
from mono.kernel import schemas, templating
from mono.kernel.outbound import OutboundPolicy, OutboundRequestRefused, send
from tenants.models import Tenant
from workflows.models import AgentTranscript, StepStatus, WorkflowDefinition, WorkflowExecution
from workflows.services.steps import StepError, step_record

TOOL_STEP_TYPE = "AgentToolCall"
EMPTY_PARAMETERS = {"type": "object", "properties": {}}
# A tool's result goes back to the model as text; more than this is cut (the step row keeps it whole).
MAX_RESULT_CHARS = 20_000


class AgentTemporaryError(RuntimeError):
    """The model turn may succeed if retried unchanged (rate limit, every provider down)."""


def agent_begin(*, tenant_id: int, execution_id: str, node_id: str, data: dict, variables: dict) -> int:
    """Render the instructions and prompt into a new transcript (once per node run); its id."""
    existing = AgentTranscript.objects.for_tenant(tenant_id).filter(execution_id=execution_id, node_id=node_id)
    if (found := existing.values_list("pk", flat=True).first()) is not None:
        return found
    try:
        system = (
            templating.render(data["instructions"], variables, field="instructions") if data.get("instructions") else ""
        )
        prompt = templating.render(data["prompt"], variables, field="prompt")
    except templating.TemplateError as exc:
        raise StepError(str(exc)) from exc
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    transcript, _ = AgentTranscript.objects.get_or_create(
        tenant_id=tenant_id, execution_id=execution_id, node_id=node_id, defaults={"data": data, "messages": messages}
    )
    step_record(
        tenant_id=tenant_id,
        execution_id=execution_id,
        node_id=node_id,
        node_type="AgentNode",
        status=StepStatus.RUNNING,
    )
    return transcript.pk


def _transcript(tenant_id: int, transcript_id: int, *, lock: bool = False) -> AgentTranscript:
    rows = AgentTranscript.objects.for_tenant(tenant_id)
    return (rows.select_for_update() if lock else rows).get(pk=transcript_id)


def _tool(data: dict, name: str) -> dict | None:
    return next((tool for tool in data.get("tools") or [] if tool.get("name") == name), None)


def conversation(transcript: AgentTranscript, until_turn: int) -> tuple[ChatMessage, ...]:
    """The messages the model sees before `until_turn`: the prompt, then each earlier turn's answer
    and its tool results, in call order."""
    messages = [ChatMessage(m["role"], m["content"]) for m in transcript.messages]
    for turn in range(1, until_turn):
        answer = transcript.turns[str(turn)]
        calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in answer["tool_calls"])
        messages.append(ChatMessage("assistant", answer["content"], tool_calls=calls))
        for index, call in enumerate(calls):
            result = transcript.results.get(f"{turn}-{index}", {"error": "no result"})
            text = json.dumps(result.get("result", result), default=str)[:MAX_RESULT_CHARS]
            messages.append(ChatMessage("tool", text, tool_call_id=call.id, name=call.name))
    return tuple(messages)


def _turn_view(transcript: AgentTranscript, turn: int) -> dict[str, Any]:
    answer = transcript.turns[str(turn)]
    calls = []
    for index, call in enumerate(answer["tool_calls"]):
        tool = _tool(transcript.data, call["name"])
        kind = tool["action"]["type"] if tool else "unknown"
        calls.append({"index": index, "id": call["id"], "name": call["name"], "kind": kind})
    return {"final": not calls, "content": answer["content"], "calls": calls, "cost": str(transcript.cost)}


def agent_turn(*, tenant_id: int, transcript_id: int, turn: int) -> dict[str, Any]:
    """Ask the model for turn `turn` (once): a final answer or tool calls, recorded in the transcript."""
    transcript = _transcript(tenant_id, transcript_id)
    if str(turn) in transcript.turns:
        return _turn_view(transcript, turn)
    data = transcript.data
    spec = llm_services.PromptSpec(
        route=data.get("route", ""),
        provider=data.get("provider", ""),
        model=data.get("model", ""),
        temperature=data.get("temperature"),
        max_tokens=data.get("max_tokens"),
    )
    tools = tuple(
        ToolSpec(tool["name"], tool.get("description", ""), tool.get("parameters") or EMPTY_PARAMETERS)
        for tool in data.get("tools") or []
    )
    try:
        call = llm_services.llm_tool_call(
            tenant_id=tenant_id,
            spec=spec,
            messages=conversation(transcript, turn),
            tools=tools,
            execution_id=transcript.execution_id,
            node_id=transcript.node_id,
        )
        result = llm_services.llm_execute(call=call)
    except ServiceError as exc:
        if llm_services.llm_failure_is_temporary(exc):
            raise AgentTemporaryError(f"LLM gateway: {exc.detail}") from exc
        raise StepError(f"LLM gateway: {exc.detail}") from exc
    calls = [
        {"id": c.id or f"call-{turn}-{index}", "name": c.name, "arguments": c.arguments or "{}"}
        for index, c in enumerate(result.tool_calls)
    ]
    with transaction.atomic():
        transcript = _transcript(tenant_id, transcript_id, lock=True)
        if str(turn) not in transcript.turns:  # a duplicate attempt that lost the race keeps the first answer
            transcript.turns[str(turn)] = {"content": result.content, "tool_calls": calls, "cost": result.cost}
            transcript.cost += Decimal(result.cost)
            transcript.save(update_fields=["turns", "cost", "updated_at"])
    return _turn_view(transcript, turn)


def _step_id(transcript: AgentTranscript, turn: int, index: int) -> str:
    return f"{transcript.node_id}/{turn}.{index}"[:100]


def _arguments(transcript: AgentTranscript, turn: int, index: int) -> tuple[dict, dict | None, Any, str | None]:
    """The call, its tool, its parsed arguments and the problem with them (None when valid)."""
    call = transcript.turns[str(turn)]["tool_calls"][index]
    tool = _tool(transcript.data, call["name"])
    if tool is None:
        return call, None, None, f"there is no tool named {call['name']!r}"
    try:
        arguments = json.loads(call["arguments"] or "{}")
    except ValueError:
        return call, tool, None, "the arguments are not valid JSON"
    try:
        schemas.validate(arguments, tool.get("parameters") or EMPTY_PARAMETERS)
    except schemas.SchemaError as exc:
        return call, tool, arguments, f"the arguments do not match the tool's parameters: {str(exc).splitlines()[0]}"
    return call, tool, arguments, None


def _store_result(
    transcript: AgentTranscript, turn: int, index: int, result: dict[str, Any], *, failed: bool = False
) -> dict[str, Any]:
    """Keep a call's result (the first one stored wins) and close its step row."""
    key = f"{turn}-{index}"
    with transaction.atomic():
        locked = _transcript(transcript.tenant_id, transcript.pk, lock=True)
        if key not in locked.results:
            locked.results[key] = result
            locked.save(update_fields=["results", "updated_at"])
        stored = locked.results[key]
        step = step_record(
            tenant_id=transcript.tenant_id,
            execution_id=transcript.execution_id,
            node_id=_step_id(transcript, turn, index),
            node_type=TOOL_STEP_TYPE,
            status=StepStatus.FAILED if failed else StepStatus.COMPLETED,
            output=stored,
            error=str(stored.get("error", "")) if failed else "",
        )
    # The monitor shows the duration from the row's times; the output says it too, for API readers.
    duration_ms = int((step.finished_at - step.started_at).total_seconds() * 1000) if step.started_at else 0
    type(step).objects.filter(pk=step.pk).update(output={**stored, "duration_ms": duration_ms})
    return stored


def _start_step(transcript: AgentTranscript, turn: int, index: int, call: dict, arguments: Any, attempt: int) -> None:
    step_record(
        tenant_id=transcript.tenant_id,
        execution_id=transcript.execution_id,
        node_id=_step_id(transcript, turn, index),
        node_type=TOOL_STEP_TYPE,
        status=StepStatus.RUNNING,
        input={"agent": transcript.node_id, "turn": turn, "call": index, "call_id": call["id"], "tool": call["name"],
               "arguments": arguments if arguments is not None else call["arguments"]},
        attempt=attempt,
    )  # fmt: skip


def webhook_delivery_id(transcript: AgentTranscript, turn: int, index: int) -> str:
    """The `webhook-id` of a webhook tool call: the same on every retry, so receivers can deduplicate."""
    return f"{transcript.execution_id}-{transcript.node_id}-{turn}-{index}"


def agent_tool_call(*, tenant_id: int, transcript_id: int, turn: int, index: int, attempt: int = 1) -> dict[str, Any]:
    """Make a webhook tool call (or refuse an unknown tool or bad arguments) once; its stored result."""
    transcript = _transcript(tenant_id, transcript_id)
    if (stored := transcript.results.get(f"{turn}-{index}")) is not None:
        return stored
    call, tool, arguments, problem = _arguments(transcript, turn, index)
    _start_step(transcript, turn, index, call, arguments, attempt)
    if problem:
        return _store_result(
            transcript, turn, index, {"tool": call["name"], "error": problem, "cost": "0"}, failed=True
        )
    action = tool["action"]
    variables = {**arguments, "arguments": arguments} if isinstance(arguments, dict) else {"arguments": arguments}
    try:
        url = templating.render(action["url"], variables, field="url")
        headers = templating.render_value(action.get("headers") or {}, variables, field="headers")
    except templating.TemplateError as exc:
        return _store_result(
            transcript, turn, index, {"tool": call["name"], "error": str(exc), "cost": "0"}, failed=True
        )
    method = str(action.get("method", "POST")).upper()
    body = json.dumps(arguments).encode() if method in ("POST", "PUT", "PATCH") else None
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    delivery = webhook_delivery_id(transcript, turn, index)
    secret = (
        Tenant.objects.filter(pk=tenant_id).values_list("webhook_signing_secret", flat=True).first()
        if action.get("sign")
        else None
    )
    if not secret:
        headers["webhook-id"] = delivery
    policy = OutboundPolicy(
        allowed_hosts=frozenset(settings.WEBHOOK_ALLOWED_HOSTS), timeout_seconds=settings.WEBHOOK_TIMEOUT_SECONDS
    )
    try:
        response = send(
            method, url, headers=headers, body=body, policy=policy, signing_secret=secret,
            message_id=delivery if secret else None,
        )  # fmt: skip
    except OutboundRequestRefused as exc:
        error = f"webhook refused: {exc}"
        return _store_result(transcript, turn, index, {"tool": call["name"], "error": error, "cost": "0"}, failed=True)
    if response.status_code >= 500:
        raise RuntimeError(f"tool {call['name']} answered {response.status_code}")  # Temporal retries, same id
    try:
        payload = json.loads(response.body) if response.body else None
    except ValueError:
        payload = response.body.decode(errors="replace")[:MAX_RESULT_CHARS]
    result = {"tool": call["name"], "status_code": response.status_code, "result": payload, "cost": "0"}
    if response.status_code >= 400:
        result["error"] = f"the tool answered {response.status_code}"
    return _store_result(transcript, turn, index, result, failed=response.status_code >= 400)


def child_execution_id(transcript: AgentTranscript, turn: int, index: int) -> str:
    """The workflow tool's child run id (also its Temporal workflow id): from business keys, at most 64 characters."""
    plain = f"{transcript.execution_id}-{transcript.node_id}-{turn}-{index}"
    if len(plain) <= 64:
        return plain
    node = hashlib.sha256(transcript.node_id.encode()).hexdigest()[:10]
    return f"{transcript.execution_id}-{node}-{turn}-{index}"


def agent_child_prepare(*, tenant_id: int, transcript_id: int, turn: int, index: int, attempt: int = 1) -> dict:
    """Record the child run of a workflow tool call (once) and say how to start it; `done` when the
    call was refused (bad arguments, no such workflow in this tenant) or already has its result."""
    transcript = _transcript(tenant_id, transcript_id)
    if f"{turn}-{index}" in transcript.results:
        return {"done": True}
    call, tool, arguments, problem = _arguments(transcript, turn, index)
    _start_step(transcript, turn, index, call, arguments, attempt)
    definition = None
    if not problem:
        target = tool["action"].get("workflow")
        # for_tenant(): another tenant's workflow is refused exactly like a missing one.
        definition = WorkflowDefinition.objects.for_tenant(tenant_id).filter(pk=target).first()
        if definition is None or definition.latest_version is None:
            problem = f"there is no workflow {target} in this tenant"
        elif definition.pk == transcript.execution.definition_id:
            problem = "a tool cannot run the workflow that contains the agent"
    if problem:
        _store_result(transcript, turn, index, {"tool": call["name"], "error": problem, "cost": "0"}, failed=True)
        return {"done": True}
    from workflows.services.executions import execution_start  # executions imports the interpreter

    child_id = child_execution_id(transcript, turn, index)
    child = WorkflowExecution.objects.for_tenant(tenant_id).filter(pk=child_id).select_related("version").first()
    if child is None:
        try:
            child = execution_start(
                tenant=Tenant.objects.get(pk=tenant_id), definition=definition, input=arguments,
                execution_id=child_id, start=False,
            )  # fmt: skip
        except ServiceError as exc:
            raise StepError(f"tool {call['name']}: {exc.detail}") from exc
    return {"done": False, "execution_id": child.pk, "plan": child.version.plan, "input": child.input}


def agent_child_finish(
    *, tenant_id: int, transcript_id: int, turn: int, index: int, status: str, output: Any, error: str
) -> dict[str, Any]:
    """Store a workflow tool call's outcome (its child run's status and output) and its cost."""
    transcript = _transcript(tenant_id, transcript_id)
    child_id = child_execution_id(transcript, turn, index)
    cost = LLMUsage.objects.for_tenant(tenant_id).filter(execution_id=child_id).aggregate(total=Sum("cost"))["total"]
    result = {
        "tool": transcript.turns[str(turn)]["tool_calls"][index]["name"],
        "execution": child_id,
        "status": status,
        "result": output,
        "cost": str(cost or 0),
    }
    if status != "completed":
        result["error"] = error or f"the workflow ended {status}"
    return _store_result(transcript, turn, index, result, failed=status != "completed")


def agent_conclude(*, tenant_id: int, transcript_id: int, turn: int) -> dict[str, Any]:
    """The agent node's output from its final answer; with an `output_schema` the answer must be JSON satisfying it."""
    transcript = _transcript(tenant_id, transcript_id)
    content = transcript.turns[str(turn)]["content"]
    output = {
        "content": content,
        "turns": turn,
        "tool_calls": sum(len(transcript.turns[str(t)]["tool_calls"]) for t in range(1, turn + 1)),
        "cost": str(transcript.cost),
    }
    schema = transcript.data.get("output_schema")
    if schema is not None:
        try:
            output["json"] = json.loads(content)
            schemas.validate(output["json"], schema)
        except ValueError as exc:  # not JSON, or a schemas.SchemaError
            raise StepError(f"the answer does not match output_schema: {str(exc).splitlines()[0]}") from exc
    return output
