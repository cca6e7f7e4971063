// Every node type the engine knows (workflows/graph/nodes.py): canonical name, alias, branch
// handles, whether it takes incoming/outgoing edges, a look, default data and the side-panel
// form for its `data`, with help for each field.

const TEMPLATE_HELP = "A template: {{ input.x }}, {{ steps.<nodeId>.… }}, {{ variables.… }}.";

export const NODE_TYPES = {
  StartNode: {
    alias: "start",
    label: "Start",
    icon: "▶",
    color: "#16a34a",
    incoming: false,
    help: "Where every run begins. Exactly one per workflow.",
    defaults: { trigger: "manual" },
    fields: [
      {
        name: "trigger",
        label: "Trigger",
        kind: "select",
        options: ["manual", "webhook", "schedule"],
        help: "How runs start: by hand or the API, an inbound webhook, or a schedule.",
      },
      {
        name: "cron",
        label: "Cron",
        kind: "text",
        placeholder: "0 9 * * 1-5",
        showIf: (data) => data.trigger === "schedule",
        help: "Five fields (minute hour day month weekday) or @daily, @hourly…; runs on a Temporal Schedule.",
      },
      {
        name: "timezone",
        label: "Time zone",
        kind: "text",
        placeholder: "UTC",
        showIf: (data) => data.trigger === "schedule",
        help: "IANA name such as Europe/Paris (default UTC).",
      },
    ],
  },
  ApprovalNode: {
    alias: "approval",
    label: "Approval",
    icon: "✔",
    color: "#7c3aed",
    handles: ["approved", "rejected"],
    help: "Waits for people to approve or reject. Connect the approved (and optionally rejected) handle.",
    defaults: { approvers: ["admin"], quorum: "any", timeout: "P7D", onTimeout: "reject", message: "" },
    fields: [
      {
        name: "approvers",
        label: "Approvers",
        kind: "list",
        placeholder: "alice, admin",
        help: "Usernames and/or roles (owner, admin, editor, approver, viewer), separated by commas.",
      },
      {
        name: "quorum",
        label: "Quorum",
        kind: "text",
        placeholder: "any",
        help: "any (one approval), all, or a number of approvals needed.",
      },
      { name: "timeout", label: "Timeout", kind: "text", placeholder: "P7D", help: "ISO-8601 duration, e.g. PT4H or P7D." },
      {
        name: "onTimeout",
        label: "On timeout",
        kind: "select",
        options: ["reject", "approve"],
        help: "What happens when the timeout passes without a decision.",
      },
      { name: "message", label: "Message", kind: "textarea", help: `Shown to approvers. ${TEMPLATE_HELP}` },
      {
        name: "allowStarter",
        label: "The run's starter may approve",
        kind: "checkbox",
        help: "Off by default: whoever started the run is not asked to approve it.",
      },
    ],
  },
  WaitNode: {
    alias: "wait",
    label: "Wait",
    icon: "◷",
    color: "#0891b2",
    help: "Pauses the run durably for a duration or until a date.",
    defaults: { duration: "PT1H" },
    fields: [
      { name: "duration", label: "Duration", kind: "text", placeholder: "PT1H", help: "ISO-8601 duration (PT30S, PT1H, P1D)." },
      {
        name: "until",
        label: "Until",
        kind: "text",
        placeholder: "2030-01-01T09:00:00Z",
        help: "Or an ISO datetime (or template) to wait until. Give one of duration and until.",
      },
    ],
  },
  DecisionNode: {
    alias: "decision",
    label: "Decision",
    icon: "◆",
    color: "#d97706",
    handles: ["true", "false"],
    help: "Takes the true or the false branch. Connect both handles.",
    defaults: { condition: "input.amount > 100" },
    fields: [
      {
        name: "condition",
        label: "Condition",
        kind: "textarea",
        placeholder: "input.amount > 100",
        help: "A CEL expression over input, steps and variables.",
      },
    ],
  },
  EmailNode: {
    alias: "email",
    label: "E-mail",
    icon: "✉",
    color: "#2563eb",
    help: "Sends an e-mail, from fields or a stored e-mail template.",
    defaults: { to: "{{ input.email }}", subject: "", body: "" },
    fields: [
      { name: "to", label: "To", kind: "text", placeholder: "{{ input.email }}", help: TEMPLATE_HELP },
      { name: "subject", label: "Subject", kind: "text", help: TEMPLATE_HELP },
      { name: "body", label: "Body", kind: "textarea", help: TEMPLATE_HELP },
      {
        name: "template",
        label: "Stored template",
        kind: "text",
        help: "Name of a stored e-mail template; then to/subject/body are optional overrides.",
      },
    ],
  },
  UpdateRecordNode: {
    alias: "updateRecord",
    label: "Update record",
    icon: "✎",
    color: "#db2777",
    help: "Writes the tenant's record store (collection + key) or an allow-listed model field.",
    defaults: { collection: "records", operation: "upsert", key: "{{ input.id }}", fields: { status: "done" } },
    fields: [
      {
        name: "collection",
        label: "Collection",
        kind: "text",
        placeholder: "orders",
        help: "A slug: lowercase letters, digits, - and _.",
      },
      {
        name: "operation",
        label: "Operation",
        kind: "select",
        options: ["create", "update", "upsert", "delete"],
        help: "What to do with the record.",
      },
      { name: "key", label: "Key", kind: "text", help: `Identifies the record (makes retries idempotent). ${TEMPLATE_HELP}` },
      { name: "fields", label: "Fields", kind: "json", help: "JSON object of field names to values (templates)." },
      {
        name: "model",
        label: "Model (instead of collection)",
        kind: "text",
        placeholder: "workflows.emailtemplate",
        help: "app_label.model of an allow-listed model; update only.",
      },
    ],
  },
  WebhookNode: {
    alias: "webhook",
    label: "Webhook",
    icon: "⇄",
    color: "#475569",
    help: "Calls a URL (SSRF-safe), optionally signed with the tenant's webhook secret.",
    defaults: { url: "https://example.com/hook", method: "POST", body: { id: "{{ input.id }}" }, sign: true },
    fields: [
      { name: "url", label: "URL", kind: "text", help: TEMPLATE_HELP },
      { name: "method", label: "Method", kind: "select", options: ["GET", "POST", "PUT", "PATCH", "DELETE"] },
      { name: "headers", label: "Headers", kind: "json", help: "JSON object of header names to text (templates)." },
      { name: "body", label: "Body", kind: "json", help: "JSON object (templates inside strings)." },
      { name: "sign", label: "Sign (Standard Webhooks)", kind: "checkbox", help: "Adds webhook-id/timestamp/signature headers." },
    ],
  },
  LLMNode: {
    alias: "llm",
    label: "LLM",
    icon: "✦",
    color: "#9333ea",
    help: "A prompt through the LLM gateway (limits, failover, usage and cost).",
    defaults: { route: "openai:gpt-4o-mini", messages: [{ role: "user", content: "Summarise {{ input.text }}" }] },
    fields: [
      {
        name: "route",
        label: "Route",
        kind: "text",
        placeholder: "openai:gpt-4o > anthropic:claude-3-5-sonnet-latest",
        help: "provider:model candidates tried in order, joined by >.",
      },
      { name: "messages", label: "Messages", kind: "messages", help: `Role and content for each message. ${TEMPLATE_HELP}` },
      { name: "template", label: "Prompt template", kind: "text", help: "Or the name of a stored prompt template." },
      { name: "variables", label: "Variables", kind: "json", help: "JSON object for the prompt template." },
      { name: "output_schema", label: "Output schema", kind: "json", help: "Optional JSON schema the answer must satisfy." },
    ],
  },
  EndNode: {
    alias: "end",
    label: "End",
    icon: "■",
    color: "#dc2626",
    outgoing: false,
    help: "Finishes the run with a status and an optional output.",
    defaults: { status: "completed" },
    fields: [
      { name: "status", label: "Status", kind: "select", options: ["completed", "failed", "cancelled"] },
      { name: "output", label: "Output", kind: "json", help: "Optional JSON output (templates inside strings)." },
    ],
  },
};

const BY_ALIAS = Object.fromEntries(Object.entries(NODE_TYPES).map(([name, spec]) => [spec.alias, name]));

/** The canonical name for a type or its alias (`decision` → `DecisionNode`), or null. */
export function canonicalType(type) {
  if (NODE_TYPES[type]) return type;
  return BY_ALIAS[type] || null;
}

export function typeSpec(type) {
  return NODE_TYPES[canonicalType(type)] || null;
}

/** A short line shown on the node: what it does at a glance. */
export function summary(type, data = {}) {
  switch (canonicalType(type)) {
    case "ApprovalNode":
      return `${(data.approvers || []).join(", ") || "no approvers"} · ${data.quorum || "any"}`;
    case "WaitNode":
      return data.duration || data.until || "";
    case "DecisionNode":
      return data.condition || "";
    case "EmailNode":
      return data.template ? `template ${data.template}` : data.subject || data.to || "";
    case "UpdateRecordNode":
      return data.model ? `${data.model}` : `${data.operation || "?"} ${data.collection || ""}`;
    case "WebhookNode":
      return `${data.method || "POST"} ${data.url || ""}`;
    case "LLMNode":
      return data.route || (data.provider ? `${data.provider}:${data.model}` : data.template || "");
    case "EndNode":
      return data.status || "completed";
    case "StartNode":
      return data.trigger === "schedule" ? `schedule ${data.cron || ""}` : data.trigger || "manual";
    default:
      return "";
  }
}
