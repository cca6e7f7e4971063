"""The node-type catalogue the editor shows: look, help, default data and the side-panel form of each
type's `data`. Names, aliases, branch handles and which types take edges come from the registry in
`workflows.graph.nodes`, so the catalogue (served by `GET /api/v1/node-types` and embedded in the
editor's page) never disagrees with the validator. Pure: no Django.

A field's `kind` is the input the editor draws (text, textarea, select, checkbox, list, json,
messages, number, tools: an agent's tool list); `show_if` shows it only when another field has a given value.
"""

from typing import Any

from workflows.graph.nodes import NODE_TYPES

TEMPLATE_HELP = "A template: {{ input.x }}, {{ steps.<nodeId>.… }}, {{ variables.… }}."

# `route`, or `provider` + `model`, as every model-calling node takes them.
_MODEL_FIELDS: list[dict[str, Any]] = [
    {
        "name": "route",
        "label": "Route",
        "kind": "text",
        "placeholder": "openai:gpt-4o > anthropic:claude-3-5-sonnet-latest",
        "help": "provider:model candidates tried in order, joined by >. Or give provider and model.",
    },
    {"name": "provider", "label": "Provider", "kind": "text", "placeholder": "openai"},
    {"name": "model", "label": "Model", "kind": "text"},
]

_LOOK: dict[str, dict[str, Any]] = {
    "StartNode": {
        "label": "Start",
        "icon": "▶",
        "color": "#16a34a",
        "help": "Where every run begins. Exactly one per workflow.",
        "defaults": {"trigger": "manual"},
        "fields": [
            {
                "name": "trigger",
                "label": "Trigger",
                "kind": "select",
                "options": ["manual", "webhook", "schedule"],
                "help": "How runs start: by hand or the API, an inbound webhook, or a schedule.",
            },
            {
                "name": "cron",
                "label": "Cron",
                "kind": "text",
                "placeholder": "0 9 * * 1-5",
                "help": "Five fields (minute hour day month weekday) or @daily, @hourly…; runs on a Temporal Schedule.",
                "show_if": {"field": "trigger", "equals": "schedule"},
            },
            {
                "name": "timezone",
                "label": "Time zone",
                "kind": "text",
                "placeholder": "UTC",
                "help": "IANA name such as Europe/Paris (default UTC).",
                "show_if": {"field": "trigger", "equals": "schedule"},
            },
        ],
    },
    "ApprovalNode": {
        "label": "Approval",
        "icon": "✔",
        "color": "#7c3aed",
        "help": "Waits for people to approve or reject. Connect the approved (and optionally rejected) handle.",
        "defaults": {"approvers": ["admin"], "quorum": "any", "timeout": "P7D", "onTimeout": "reject", "message": ""},
        "fields": [
            {
                "name": "approvers",
                "label": "Approvers",
                "kind": "list",
                "placeholder": "alice, admin",
                "help": "Usernames and/or roles (owner, admin, editor, approver, viewer), separated by commas.",
            },
            {
                "name": "quorum",
                "label": "Quorum",
                "kind": "text",
                "placeholder": "any",
                "help": "any (one approval), all, or a number of approvals needed.",
            },
            {
                "name": "timeout",
                "label": "Timeout",
                "kind": "text",
                "placeholder": "P7D",
                "help": "ISO-8601 duration, e.g. PT4H or P7D.",
            },
            {
                "name": "onTimeout",
                "label": "On timeout",
                "kind": "select",
                "options": ["reject", "approve"],
                "help": "What happens when the timeout passes without a decision.",
            },
            {
                "name": "message",
                "label": "Message",
                "kind": "textarea",
                "help": ("Shown to approvers. " + TEMPLATE_HELP),
            },
            {
                "name": "allowStarter",
                "label": "The run's starter may approve",
                "kind": "checkbox",
                "help": "Off by default: whoever started the run is not asked to approve it.",
            },
        ],
    },
    "WaitNode": {
        "label": "Wait",
        "icon": "◷",
        "color": "#0891b2",
        "help": "Pauses the run durably for a duration or until a date.",
        "defaults": {"duration": "PT1H"},
        "fields": [
            {
                "name": "duration",
                "label": "Duration",
                "kind": "text",
                "placeholder": "PT1H",
                "help": "ISO-8601 duration (PT30S, PT1H, P1D).",
            },
            {
                "name": "until",
                "label": "Until",
                "kind": "text",
                "placeholder": "2030-01-01T09:00:00Z",
                "help": "Or an ISO datetime (or template) to wait until. Give one of duration and until.",
            },
        ],
    },
    "DecisionNode": {
        "label": "Decision",
        "icon": "◆",
        "color": "#d97706",
        "help": "Takes the true or the false branch. Connect both handles.",
        "defaults": {"condition": "input.amount > 100"},
        "fields": [
            {
                "name": "condition",
                "label": "Condition",
                "kind": "textarea",
                "placeholder": "input.amount > 100",
                "help": "A CEL expression over input, steps and variables.",
            }
        ],
    },
    "EmailNode": {
        "label": "E-mail",
        "icon": "✉",
        "color": "#2563eb",
        "help": "Sends an e-mail, from fields or a stored e-mail template.",
        "defaults": {"to": "{{ input.email }}", "subject": "", "body": ""},
        "fields": [
            {
                "name": "to",
                "label": "To",
                "kind": "text",
                "placeholder": "{{ input.email }}",
                "help": "A template: {{ input.x }}, {{ steps.<nodeId>.… }}, {{ variables.… }}.",
            },
            {
                "name": "subject",
                "label": "Subject",
                "kind": "text",
                "help": "A template: {{ input.x }}, {{ steps.<nodeId>.… }}, {{ variables.… }}.",
            },
            {
                "name": "body",
                "label": "Body",
                "kind": "textarea",
                "help": "A template: {{ input.x }}, {{ steps.<nodeId>.… }}, {{ variables.… }}.",
            },
            {
                "name": "template",
                "label": "Stored template",
                "kind": "text",
                "help": "Name of a stored e-mail template; then to/subject/body are optional overrides.",
            },
        ],
    },
    "UpdateRecordNode": {
        "label": "Update record",
        "icon": "✎",
        "color": "#db2777",
        "help": "Writes the tenant's record store (collection + key) or an allow-listed model field.",
        "defaults": {
            "collection": "records",
            "operation": "upsert",
            "key": "{{ input.id }}",
            "fields": {"status": "done"},
        },
        "fields": [
            {
                "name": "collection",
                "label": "Collection",
                "kind": "text",
                "placeholder": "orders",
                "help": "A slug: lowercase letters, digits, - and _.",
            },
            {
                "name": "operation",
                "label": "Operation",
                "kind": "select",
                "options": ["create", "update", "upsert", "delete"],
                "help": "What to do with the record.",
            },
            {
                "name": "key",
                "label": "Key",
                "kind": "text",
                "help": ("Identifies the record (makes retries idempotent). " + TEMPLATE_HELP),
            },
            {
                "name": "fields",
                "label": "Fields",
                "kind": "json",
                "help": "JSON object of field names to values (templates).",
            },
            {
                "name": "model",
                "label": "Model (instead of collection)",
                "kind": "text",
                "placeholder": "workflows.emailtemplate",
                "help": "app_label.model of an allow-listed model; update only.",
            },
        ],
    },
    "WebhookNode": {
        "label": "Webhook",
        "icon": "⇄",
        "color": "#475569",
        "help": "Calls a URL (SSRF-safe), optionally signed with the tenant's webhook secret.",
        "defaults": {
            "url": "https://example.com/hook",
            "method": "POST",
            "body": {"id": "{{ input.id }}"},
            "sign": True,
        },
        "fields": [
            {
                "name": "url",
                "label": "URL",
                "kind": "text",
                "help": "A template: {{ input.x }}, {{ steps.<nodeId>.… }}, {{ variables.… }}.",
            },
            {
                "name": "method",
                "label": "Method",
                "kind": "select",
                "options": ["GET", "POST", "PUT", "PATCH", "DELETE"],
            },
            {
                "name": "headers",
                "label": "Headers",
                "kind": "json",
                "help": "JSON object of header names to text (templates).",
            },
            {"name": "body", "label": "Body", "kind": "json", "help": "JSON object (templates inside strings)."},
            {
                "name": "sign",
                "label": "Sign (Standard Webhooks)",
                "kind": "checkbox",
                "help": "Adds webhook-id/timestamp/signature headers.",
            },
        ],
    },
    "LLMNode": {
        "label": "LLM",
        "icon": "✦",
        "color": "#9333ea",
        "help": "A prompt through the LLM gateway (limits, failover, usage and cost).",
        "defaults": {
            "route": "openai:gpt-4o-mini",
            "messages": [{"role": "user", "content": "Summarise {{ input.text }}"}],
        },
        "fields": [
            {
                "name": "route",
                "label": "Route",
                "kind": "text",
                "placeholder": "openai:gpt-4o > anthropic:claude-3-5-sonnet-latest",
                "help": "provider:model candidates tried in order, joined by >.",
            },
            {
                "name": "messages",
                "label": "Messages",
                "kind": "messages",
                "help": ("Role and content for each message. " + TEMPLATE_HELP),
            },
            {
                "name": "template",
                "label": "Prompt template",
                "kind": "text",
                "help": "Or the name of a stored prompt template.",
            },
            {"name": "variables", "label": "Variables", "kind": "json", "help": "JSON object for the prompt template."},
            {
                "name": "output_schema",
                "label": "Output schema",
                "kind": "json",
                "help": "Optional JSON schema the answer must satisfy.",
            },
        ],
    },
    "AgentNode": {
        "label": "Agent",
        "icon": "✪",
        "color": "#7e22ce",
        "help": "A model that calls tools (webhooks or child workflows), one durable step each, until it answers.",
        "defaults": {
            "route": "openai:gpt-4o-mini",
            "instructions": "",
            "prompt": "{{ input.question }}",
            "tools": [],
            "max_steps": 8,
        },
        "fields": [
            *_MODEL_FIELDS,
            {
                "name": "instructions",
                "label": "Instructions",
                "kind": "textarea",
                "help": ("The system prompt. " + TEMPLATE_HELP),
            },
            {"name": "prompt", "label": "Prompt", "kind": "textarea", "help": ("The user message. " + TEMPLATE_HELP)},
            {
                "name": "tools",
                "label": "Tools",
                "kind": "tools",
                "help": "Each with a unique name, a JSON Schema for its arguments, and a webhook or workflow action.",
            },
            {
                "name": "max_steps",
                "label": "Max steps",
                "kind": "number",
                "placeholder": "8",
                "help": "Model turns allowed, 1 to 32 (default 8); the step fails past it.",
            },
            {
                "name": "budget_usd",
                "label": "Budget (USD)",
                "kind": "number",
                "help": "Optional: the loop stops once its cost reaches this amount.",
            },
            {
                "name": "output_schema",
                "label": "Output schema",
                "kind": "json",
                "help": "Optional JSON schema the final answer must satisfy.",
            },
        ],
    },
    "ImageNode": {
        "label": "Image",
        "icon": "▣",
        "color": "#c026d3",
        "help": "Draws images from a prompt through the gateway; the output is the stored media assets' ids.",
        "defaults": {"model": "dall-e-3", "prompt": "{{ input.description }}", "size": "1024x1024", "n": 1},
        "fields": [
            *_MODEL_FIELDS,
            {"name": "prompt", "label": "Prompt", "kind": "textarea", "help": ("What to draw. " + TEMPLATE_HELP)},
            {
                "name": "size",
                "label": "Size",
                "kind": "text",
                "placeholder": "1024x1024",
                "help": "WIDTHxHEIGHT the model supports.",
            },
            {"name": "quality", "label": "Quality", "kind": "text", "placeholder": "standard", "help": "Optional."},
            {"name": "n", "label": "Images", "kind": "number", "placeholder": "1", "help": "1 to 10."},
        ],
    },
    "TranscribeNode": {
        "label": "Transcribe",
        "icon": "♪",
        "color": "#0d9488",
        "help": "Turns an audio media asset into text through the gateway.",
        "defaults": {"model": "whisper-1", "media": "{{ input.media }}"},
        "fields": [
            *_MODEL_FIELDS,
            {
                "name": "media",
                "label": "Media",
                "kind": "text",
                "placeholder": "{{ input.media }}",
                "help": "The audio asset's id, or a template giving it.",
            },
            {"name": "language", "label": "Language", "kind": "text", "placeholder": "en", "help": "Optional hint."},
        ],
    },
    "ExtractNode": {
        "label": "Extract text",
        "icon": "¶",
        "color": "#65a30d",
        "help": "Waits for a document asset to be processed, then returns its text (pages, capped).",
        "defaults": {"media": "{{ input.media }}", "max_chars": 20000},
        "fields": [
            {
                "name": "media",
                "label": "Media",
                "kind": "text",
                "placeholder": "{{ input.media }}",
                "help": "The document asset's id, or a template giving it.",
            },
            {
                "name": "max_chars",
                "label": "Max characters",
                "kind": "number",
                "placeholder": "20000",
                "help": "Up to 200,000; the rest is given by reference.",
            },
            {"name": "max_pages", "label": "Max pages", "kind": "number", "help": "Optional."},
        ],
    },
    "EndNode": {
        "label": "End",
        "icon": "■",
        "color": "#dc2626",
        "help": "Finishes the run with a status and an optional output.",
        "defaults": {"status": "completed"},
        "fields": [
            {"name": "status", "label": "Status", "kind": "select", "options": ["completed", "failed", "cancelled"]},
            {
                "name": "output",
                "label": "Output",
                "kind": "json",
                "help": "Optional JSON output (templates inside strings).",
            },
        ],
    },
}


def node_catalogue() -> dict[str, dict[str, Any]]:
    """Every node type, by canonical name in registry order, with what the editor needs to draw it."""
    return {
        name: {
            "alias": node_type.alias,
            "handles": list(node_type.handles),
            "incoming": node_type.can_have_incoming,
            "outgoing": node_type.can_have_outgoing,
            **_LOOK[name],
        }
        for name, node_type in NODE_TYPES.items()
    }
