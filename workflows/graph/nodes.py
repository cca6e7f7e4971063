"""The node type registry: canonical names, aliases, branch handles and each type's `data` rules.

Each type's check returns the data normalised for the engine (defaults filled, durations turned
into whole seconds alongside the ISO text) and every problem found, never raising.
"""

import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from croniter import croniter

from mono.kernel import expressions, schemas, templating
from workflows.graph import durations

# The tenant roles an approver entry may name instead of a username. Kept here rather than
# imported from `tenants` because this module must not import Django.
ROLE_NAMES = frozenset({"owner", "admin", "editor", "approver", "viewer"})
COLLECTION_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MODEL_PATTERN = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")
HANDLE_ALIASES = {"yes": "true", "no": "false"}
TOOL_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
AGENT_DEFAULT_STEPS = 8
AGENT_MAX_STEPS = 32


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a node's data: an error code, the field (dotted path) and a message."""

    code: str
    field: str
    message: str


def _template_problems(value: Any, path: str = "") -> list[tuple[str, str]]:
    """`(path, message)` for every string inside nested dicts and lists that does not compile."""
    if isinstance(value, str):
        problem = templating.check(value)
        return [(path, problem)] if problem else []
    problems: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            problems += _template_problems(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problems += _template_problems(item, f"{path}[{index}]")
    return problems


class _Data:
    """A node's `data` being checked: collects problems and builds the normalised copy."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.raw = data
        self.out: dict[str, Any] = dict(data)
        self.problems: list[Problem] = []

    def problem(self, code: str, field: str, message: str) -> None:
        self.problems.append(Problem(code, field, message))

    def present(self, field: str) -> bool:
        return self.raw.get(field) not in (None, "")

    def require(self, field: str, what: str) -> bool:
        if not self.present(field):
            self.problem("missing_field", field, f"{field} is required ({what})")
            return False
        return True

    def choice(self, field: str, options: tuple[str, ...], default: str | None, *, upper: bool = False) -> None:
        value = self.raw.get(field)
        if value in (None, ""):
            if default is None:
                self.require(field, f"one of {', '.join(options)}")
            self.out[field] = default
            return
        normal = value.upper() if upper and isinstance(value, str) else value
        if normal not in options:
            self.problem("invalid_field", field, f"{field} must be one of {', '.join(options)}, not {value!r}")
        else:
            self.out[field] = normal

    def template(self, field: str, *, required: bool = False, what: str = "a template") -> None:
        if not self.present(field):
            if required:
                self.require(field, what)
            return
        value = self.raw[field]
        if not isinstance(value, str):
            self.problem("invalid_field", field, f"{field} must be text ({what})")
        elif problem := templating.check(value):
            self.problem("invalid_template", field, f"{field}: {problem}")

    def template_value(self, field: str, value: Any) -> None:
        """Strings anywhere inside `value` are templates; each must compile."""
        for path, problem in _template_problems(value):
            where = f"{field}.{path}" if path and not path.startswith("[") else f"{field}{path}"
            self.problem("invalid_template", where, f"{where}: {problem}")

    def duration(self, field: str, seconds_field: str) -> None:
        self.out[seconds_field] = None
        if not self.present(field):
            return
        try:
            self.out[seconds_field] = durations.duration_seconds(self.raw[field])
        except durations.DurationError as exc:
            self.problem("invalid_duration", field, f"{field}: {exc}")


def _start(data: _Data) -> None:
    data.choice("trigger", ("manual", "webhook", "schedule"), "manual")
    if data.out.get("trigger") != "schedule":
        return
    cron = data.raw.get("cron")
    if data.require("cron", "a cron expression such as 0 9 * * 1-5 when trigger is schedule"):
        if isinstance(cron, str) and _valid_cron(cron):
            data.out["cron"] = " ".join(cron.split())
        else:
            message = f"cron must be a five-field cron expression such as 0 9 * * 1-5, not {cron!r}"
            data.problem("invalid_cron", "cron", message)
    zone = data.raw.get("timezone")
    if zone in (None, ""):
        data.out["timezone"] = "UTC"
    elif not isinstance(zone, str) or not _known_timezone(zone):
        message = f"timezone must be an IANA name such as Europe/Paris, not {zone!r}"
        data.problem("invalid_timezone", "timezone", message)


CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})


def _valid_cron(text: str) -> bool:
    """Five fields (minute hour day month weekday) or a macro, as Temporal Schedules read them."""
    text = text.strip()
    return text.lower() in CRON_MACROS or (len(text.split()) == 5 and croniter.is_valid(text))


def _known_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _approval(data: _Data) -> None:
    approvers = data.raw.get("approvers")
    names: list[str] = []
    if approvers in (None, "", []):
        data.require("approvers", "a list of usernames and/or role names")
    elif not isinstance(approvers, list) or not all(isinstance(name, str) and name.strip() for name in approvers):
        data.problem("invalid_field", "approvers", "approvers must be a list of usernames and/or role names")
    else:
        names = list(dict.fromkeys(name.strip() for name in approvers))
        data.out["approvers"] = names
    quorum = data.raw.get("quorum")
    if quorum in (None, ""):
        data.out["quorum"] = "any"
    elif isinstance(quorum, str) and quorum.strip().lower() in ("any", "all"):
        data.out["quorum"] = quorum.strip().lower()
    elif isinstance(quorum, int | str) and not isinstance(quorum, bool) and str(quorum).strip().isdigit():
        needed = int(str(quorum).strip())
        # A role can have any number of members, so the bound is only known for plain usernames.
        all_usernames = bool(names) and not any(name in ROLE_NAMES for name in names)
        if needed < 1 or (all_usernames and needed > len(names)):
            data.problem("invalid_field", "quorum", f"quorum {needed} must be between 1 and {len(names)} approvers")
        data.out["quorum"] = needed
    else:
        data.problem("invalid_field", "quorum", f"quorum must be any, all or a number of approvals, not {quorum!r}")
    data.duration("timeout", "timeout_seconds")
    data.choice("onTimeout", ("reject", "approve"), "reject")
    data.template("message")
    # The run's starter never approves their own request unless the node says they may.
    allow_starter = data.raw.get("allowStarter", False)
    if not isinstance(allow_starter, bool):
        data.problem("invalid_field", "allowStarter", "allowStarter must be true or false")
    data.out["allowStarter"] = allow_starter is True


def _wait(data: _Data) -> None:
    has_duration, has_until = data.present("duration"), data.present("until")
    data.out["duration_seconds"] = None
    if has_duration and has_until:
        data.problem("conflicting_fields", "until", "give either duration or until, not both")
    elif not has_duration and not has_until:
        data.problem("missing_field", "duration", "a Wait needs a duration (e.g. PT1H) or an until datetime")
    elif has_duration:
        data.duration("duration", "duration_seconds")
    elif isinstance(until := data.raw["until"], str) and ("{{" in until or "{%" in until):
        data.template("until")
    else:
        try:
            durations.parse_datetime(until)
        except durations.DurationError as exc:
            data.problem("invalid_datetime", "until", f"until: {exc}")


def _decision(data: _Data) -> None:
    if not data.require("condition", "a CEL expression such as input.amount > 100"):
        return
    if problem := expressions.check_condition(data.raw["condition"]):
        data.problem("invalid_expression", "condition", f"condition: {problem}")


def _email(data: _Data) -> None:
    if data.present("template"):
        if not isinstance(data.raw["template"], str):
            data.problem("invalid_field", "template", "template must be the name of a stored e-mail template")
        for field in ("to", "subject", "body"):
            data.template(field)
        return
    for field in ("to", "subject", "body"):
        data.template(field, required=True, what="or choose a stored e-mail template")


def _update_record(data: _Data) -> None:
    """Writes either the tenant's record store (`collection`) or one allow-listed project model
    (`model`, e.g. `workflows.emailtemplate`: update only; the allow-list itself is a setting the
    worker checks, since this module reads no settings)."""
    if data.present("model"):
        data.choice("operation", ("update",), "update")
        if not (isinstance(data.raw["model"], str) and MODEL_PATTERN.fullmatch(data.raw["model"])):
            data.problem("invalid_field", "model", "model must be app_label.model, e.g. workflows.emailtemplate")
        if data.present("collection"):
            data.problem("invalid_field", "collection", "give either collection or model, not both")
    else:
        data.choice("operation", ("create", "update", "upsert", "delete"), None)
        collection = data.raw.get("collection")
        if data.require("collection", "a slug such as orders, or model for an allow-listed model") and not (
            isinstance(collection, str) and COLLECTION_PATTERN.fullmatch(collection)
        ):
            data.problem("invalid_field", "collection", "collection must be a slug: lowercase letters, digits, - and _")
    # The key is required even to create: it makes the write idempotent when an activity retries.
    if data.require("key", "a template identifying the record"):
        key = data.raw["key"]
        if isinstance(key, str):
            data.template("key")
        elif not isinstance(key, int) or isinstance(key, bool):
            data.problem("invalid_field", "key", "key must be text (a template)")
    if data.out.get("operation") == "delete":
        return
    fields = data.raw.get("fields")
    if fields is None:
        data.require("fields", "an object of field names to values")
    elif not isinstance(fields, dict):
        data.problem("invalid_field", "fields", "fields must be an object of field names to values")
    elif not fields:
        data.problem("missing_field", "fields", "fields must name at least one field")
    else:
        data.template_value("fields", fields)


def _webhook(data: _Data) -> None:
    data.template("url", required=True, what="the URL to call, a template")
    data.choice("method", ("GET", "POST", "PUT", "PATCH", "DELETE"), "POST", upper=True)
    headers = data.raw.get("headers")
    if headers is not None and not (isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())):
        data.problem("invalid_field", "headers", "headers must be an object of header names to text")
    elif headers:
        data.template_value("headers", headers)
    body = data.raw.get("body")
    if body is not None and not isinstance(body, str | dict | list):
        data.problem("invalid_field", "body", "body must be text or a JSON object")
    elif body is not None:
        data.template_value("body", body)
    sign = data.raw.get("sign", False)
    if not isinstance(sign, bool):
        data.problem("invalid_field", "sign", "sign must be true or false")
    data.out["sign"] = sign is True


def _llm(data: _Data) -> None:
    """A prompt through the LLM gateway: `route` (or `provider` + `model`), `messages` (role +
    content templates) or a stored prompt `template` with `variables`, and an optional JSON
    `output_schema` the answer must satisfy."""
    if data.present("provider") != data.present("model"):
        data.problem(
            "missing_field", "model" if data.present("provider") else "provider", "name both provider and model"
        )
    if data.present("route") and not (isinstance(data.raw["route"], str) and ":" in data.raw["route"]):
        data.problem("invalid_field", "route", "route must be provider:model candidates joined by >")
    messages = data.raw.get("messages")
    if data.present("template"):
        data.template_value("variables", data.raw.get("variables") or {})
    elif not isinstance(messages, list) or not messages:
        data.problem("missing_field", "messages", "messages (role + content) or a prompt template is required")
    else:
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant"):
                data.problem("invalid_field", f"messages[{index}].role", "role must be system, user or assistant")
            elif not isinstance(message.get("content"), str):
                data.problem("invalid_field", f"messages[{index}].content", "content must be text (a template)")
            else:
                data.template_value(f"messages[{index}].content", message["content"])
    schema = data.raw.get("output_schema")
    if schema is not None and not isinstance(schema, dict):
        data.problem("invalid_field", "output_schema", "output_schema must be a JSON schema object")
    elif schema is not None and (problem := schemas.check_schema(schema)):
        data.problem("invalid_schema", "output_schema", f"output_schema: {problem}")


def _model_choice(data: _Data, *, bare_model: bool = False) -> None:
    """`route`, or `provider` + `model`, as the LLM nodes take them (`bare_model`: a model alone is OpenAI's)."""
    if bare_model and data.present("model") and not data.present("provider"):
        pass
    elif data.present("provider") != data.present("model"):
        data.problem(
            "missing_field", "model" if data.present("provider") else "provider", "name both provider and model"
        )
    if data.present("route") and not (isinstance(data.raw["route"], str) and ":" in data.raw["route"]):
        data.problem("invalid_field", "route", "route must be provider:model candidates joined by >")


def _agent_tool(data: _Data, index: int, tool: object, seen: set[str]) -> None:
    where = f"tools[{index}]"
    if not isinstance(tool, dict):
        data.problem("invalid_field", where, f"{where} must be an object with name, description, parameters, action")
        return
    name = tool.get("name")
    if not (isinstance(name, str) and TOOL_NAME_PATTERN.fullmatch(name)):
        data.problem("invalid_field", f"{where}.name", f"{where}.name must match ^[a-zA-Z0-9_-]{{1,64}}$")
    elif name in seen:
        data.problem("duplicate_tool", f"{where}.name", f"{where}.name {name!r} is already used by another tool")
    else:
        seen.add(name)
    if not isinstance(tool.get("description", ""), str):
        data.problem("invalid_field", f"{where}.description", f"{where}.description must be text")
    parameters = tool.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, dict) or parameters.get("type") != "object":
        data.problem("invalid_schema", f"{where}.parameters", f"{where}.parameters must be a JSON Schema object")
    elif problem := schemas.check_schema(parameters):
        data.problem("invalid_schema", f"{where}.parameters", f"{where}.parameters: {problem}")
    action = tool.get("action")
    kind = action.get("type") if isinstance(action, dict) else None
    if kind == "webhook":
        url = action.get("url")
        if not isinstance(url, str) or not url.strip():
            data.problem("missing_field", f"{where}.action.url", f"{where}.action.url is required (a template)")
        elif problem := templating.check(url):
            data.problem("invalid_template", f"{where}.action.url", f"{where}.action.url: {problem}")
        if str(action.get("method", "POST")).upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            data.problem(
                "invalid_field",
                f"{where}.action.method",
                f"{where}.action.method must be GET, POST, PUT, PATCH or DELETE",
            )
        headers = action.get("headers") or {}
        if not (isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())):
            data.problem("invalid_field", f"{where}.action.headers", f"{where}.action.headers must map names to text")
        if not isinstance(action.get("sign", False), bool):
            data.problem("invalid_field", f"{where}.action.sign", f"{where}.action.sign must be true or false")
    elif kind == "workflow":
        workflow_id = action.get("workflow")
        if not isinstance(workflow_id, int) or isinstance(workflow_id, bool) or workflow_id < 1:
            data.problem(
                "invalid_field", f"{where}.action.workflow", f"{where}.action.workflow must be a workflow definition id"
            )
    else:
        data.problem("invalid_field", f"{where}.action.type", f"{where}.action.type must be webhook or workflow")


def _agent(data: _Data) -> None:
    """An agent: a model that calls `tools` (webhooks or child workflows) until it answers, within
    `max_steps` model turns and an optional `budget_usd`. Whether a workflow action names a workflow
    of the tenant (and not the one containing the agent) is checked on save, where the tenant is known."""
    _model_choice(data)
    data.template("instructions")
    data.template("prompt", required=True, what="the user message, a template")
    tools = data.raw.get("tools") or []
    if not isinstance(tools, list):
        data.problem("invalid_field", "tools", "tools must be a list")
        tools = []
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        _agent_tool(data, index, tool, seen)
    steps = data.raw.get("max_steps")
    if steps in (None, ""):
        data.out["max_steps"] = AGENT_DEFAULT_STEPS
    elif not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= AGENT_MAX_STEPS:
        data.problem("invalid_field", "max_steps", f"max_steps must be a whole number from 1 to {AGENT_MAX_STEPS}")
    budget = data.raw.get("budget_usd")
    if budget is not None and (not isinstance(budget, int | float) or isinstance(budget, bool) or budget <= 0):
        data.problem("invalid_field", "budget_usd", "budget_usd must be a positive amount in US dollars")
    schema = data.raw.get("output_schema")
    if schema is not None and not isinstance(schema, dict):
        data.problem("invalid_field", "output_schema", "output_schema must be a JSON schema object")
    elif schema is not None and (problem := schemas.check_schema(schema)):
        data.problem("invalid_schema", "output_schema", f"output_schema: {problem}")


def _image(data: _Data) -> None:
    """Images from a prompt template through the gateway; stored as media assets (the output has their ids)."""
    _model_choice(data, bare_model=True)
    data.template("prompt", required=True, what="what to draw, a template")
    size = data.raw.get("size")
    if size in (None, ""):
        data.out["size"] = "1024x1024"
    elif not (isinstance(size, str) and re.fullmatch(r"\d{2,5}x\d{2,5}", size)):
        data.problem("invalid_field", "size", f"size must be WIDTHxHEIGHT such as 1024x1024, not {size!r}")
    n = data.raw.get("n")
    if n in (None, ""):
        data.out["n"] = 1
    elif not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
        data.problem("invalid_field", "n", "n must be a whole number of images from 1 to 10")


def _transcribe(data: _Data) -> None:
    """Transcribe an audio media asset (`media`: its id, or a template giving it) through the gateway."""
    _model_choice(data, bare_model=True)
    media = data.raw.get("media")
    if isinstance(media, int) and not isinstance(media, bool):
        return
    data.template("media", required=True, what="the id of an audio media asset, or a template giving it")


def agent_workflow_tools(data: Mapping[str, Any]) -> list[tuple[str, int]]:
    """`(field, definition id)` of every workflow action among an agent node's tools."""
    found = []
    for index, tool in enumerate(data.get("tools") or []):
        action = tool.get("action") if isinstance(tool, dict) else None
        if isinstance(action, dict) and action.get("type") == "workflow" and isinstance(action.get("workflow"), int):
            found.append((f"tools[{index}].action.workflow", action["workflow"]))
    return found


EXTRACT_MAX_CHARS = 200_000


def _extract(data: _Data) -> None:
    """The text of a processed document: `media` (a template giving the asset id, e.g.
    `{{ input.media }}`), `max_chars` (default 20,000, at most 200,000) and optional `max_pages`."""
    data.template("media", required=True, what="the asset id, e.g. {{ input.media }}")
    for field, default in (("max_chars", 20_000), ("max_pages", None)):
        value = data.raw.get(field)
        if value in (None, ""):
            data.out[field] = default
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= EXTRACT_MAX_CHARS:
            data.problem("invalid_field", field, f"{field} must be a whole number from 1 to {EXTRACT_MAX_CHARS}")


def _end(data: _Data) -> None:
    data.choice("status", ("completed", "failed", "cancelled"), "completed")
    if data.raw.get("output") is not None:
        data.template_value("output", data.raw["output"])


@dataclass(frozen=True)
class NodeType:
    """A kind of node: how its data is checked and which branch handles its outgoing edges use."""

    name: str
    alias: str
    rules: Callable[[_Data], None]
    handles: tuple[str, ...] = ()
    can_have_incoming: bool = True
    can_have_outgoing: bool = True

    def check(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
        """Normalised data and every problem in it."""
        checked = _Data(data)
        self.rules(checked)
        return checked.out, checked.problems

    def normalise_handle(self, handle: object) -> str | None:
        """The canonical handle (`yes` → `true`; a bool → `true`/`false`); None means "no handle"."""
        if handle is None or handle == "":
            return None
        if isinstance(handle, bool):
            return "true" if handle else "false"
        text = str(handle)
        return HANDLE_ALIASES.get(text.lower(), text.lower()) if self.name == "DecisionNode" else text


NODE_TYPES: dict[str, NodeType] = {
    node_type.name: node_type
    for node_type in (
        NodeType("StartNode", "start", _start, can_have_incoming=False),
        NodeType("ApprovalNode", "approval", _approval, handles=("approved", "rejected")),
        NodeType("WaitNode", "wait", _wait),
        NodeType("DecisionNode", "decision", _decision, handles=("true", "false")),
        NodeType("EmailNode", "email", _email),
        NodeType("UpdateRecordNode", "updateRecord", _update_record),
        NodeType("WebhookNode", "webhook", _webhook),
        NodeType("LLMNode", "llm", _llm),
        NodeType("AgentNode", "agent", _agent),
        NodeType("ImageNode", "image", _image),
        NodeType("TranscribeNode", "transcribe", _transcribe),
        NodeType("ExtractNode", "extract", _extract),
        NodeType("EndNode", "end", _end, can_have_outgoing=False),
    )
}
_BY_ALIAS = {node_type.alias: node_type for node_type in NODE_TYPES.values()}


def node_type(name: object) -> NodeType | None:
    """The type for a canonical name (`DecisionNode`) or alias (`decision`), or None."""
    if not isinstance(name, str):
        return None
    return NODE_TYPES.get(name) or _BY_ALIAS.get(name)
