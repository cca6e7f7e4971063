// The node-type catalogue (canonical name, alias, branch handles, whether it takes incoming and
// outgoing edges, a look, default data and the side-panel form for its `data`, with help for each
// field). It is built by the server from the engine's own registry (workflows/graph/catalogue.py,
// also served as GET /api/v1/node-types) and embedded in the editor's and monitor's pages, so the
// editor never keeps a copy that could disagree with the validator.
import { config } from "./api.js";

export const NODE_TYPES = config.node_types || {};

/** Whether a field applies to the node's data (`show_if`: only when another field has a value). */
export function fieldShown(field, data) {
  return !field.show_if || data[field.show_if.field] === field.show_if.equals;
}

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
    case "AgentNode":
      return `${(data.tools || []).length} tool(s) · ${data.route || data.model || ""}`;
    case "ExtractNode":
    case "TranscribeNode":
      return data.media || "";
    case "EndNode":
      return data.status || "completed";
    case "StartNode":
      return data.trigger === "schedule" ? `schedule ${data.cron || ""}` : data.trigger || "manual";
    default:
      return "";
  }
}
