// An agent node's `tools`: each a name, a description, a JSON Schema for its arguments and an
// action (a webhook call or a workflow of the tenant run as a child). The validator's problems
// (`tools[1].action.workflow`) are shown next to the field they name.
import { useEffect, useRef, useState } from "react";
import { api } from "../api.js";
import { ParsedText, jsonText } from "../Forms.jsx";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const EMPTY_PARAMETERS = { type: "object", properties: {} };
const NEW_ACTION = {
  webhook: { type: "webhook", url: "", method: "POST", headers: {}, sign: false },
  workflow: { type: "workflow", workflow: null },
};

// A JSON object, or nothing (the field is then left out).
const objectText = {
  format: jsonText.format,
  parse: (text) => {
    const parsed = jsonText.parse(text);
    if (parsed.ok && parsed.value !== undefined && (typeof parsed.value !== "object" || Array.isArray(parsed.value))) {
      return { ok: false, error: "must be a JSON object" };
    }
    return parsed;
  },
};

// The tenant's workflows, fetched once per page for every tool select.
let workflowsOnce = null;
function useWorkflows() {
  const [workflows, setWorkflows] = useState([]);
  useEffect(() => {
    workflowsOnce ||= api("workflows/?limit=200").then((page) => page.results || []);
    let live = true;
    workflowsOnce.then((list) => live && setWorkflows(list)).catch(() => live && setWorkflows([]));
    return () => {
      live = false;
    };
  }, []);
  return workflows;
}

function Problems({ problems }) {
  return problems.map((problem, index) => (
    <div key={index} className="field-problem" data-field={problem.field}>
      {problem.message}
    </div>
  ));
}

/** The tools list editor: add, remove and reorder tools, each field with its own problems. */
export default function ToolsEditor({ value, onChange, problems = [], label }) {
  const tools = Array.isArray(value) ? value : [];
  const workflows = useWorkflows();
  // Stable keys, so a tool's JSON boxes keep their text when tools move; reset if the list is
  // replaced from outside (undo, import) with another length.
  const counter = useRef(0);
  const [keys, setKeys] = useState(() => tools.map(() => ++counter.current));
  const liveKeys = keys.length === tools.length ? keys : tools.map(() => ++counter.current);
  if (liveKeys !== keys) setKeys(liveKeys);

  const commit = (next, nextKeys) => {
    setKeys(nextKeys);
    onChange(next.length ? next : undefined);
  };
  const update = (index, patch) => onChange(tools.map((tool, i) => (i === index ? { ...tool, ...patch } : tool)));
  const updateAction = (index, patch) => update(index, { action: { ...(tools[index].action || {}), ...patch } });
  const move = (index, by) => {
    const to = index + by;
    const next = [...tools];
    const nextKeys = [...liveKeys];
    [next[index], next[to]] = [next[to], next[index]];
    [nextKeys[index], nextKeys[to]] = [nextKeys[to], nextKeys[index]];
    commit(next, nextKeys);
  };
  const add = () =>
    commit(
      [...tools, { name: `tool_${tools.length + 1}`, description: "", parameters: EMPTY_PARAMETERS, action: NEW_ACTION.webhook }],
      [...liveKeys, ++counter.current],
    );
  const remove = (index) =>
    commit(
      tools.filter((_, i) => i !== index),
      liveKeys.filter((_, i) => i !== index),
    );

  const at = (index, path) => problems.filter((problem) => problem.field === `tools[${index}]${path}`);
  const claimed = (problem) => /^tools\[\d+\]\.(name|description|parameters|action\.(type|url|method|headers|sign|workflow))$/.test(problem.field || "");
  const unclaimed = problems.filter((problem) => !claimed(problem));

  return (
    <fieldset className="tools">
      <legend>{label}</legend>
      <Problems problems={unclaimed} />
      {tools.length === 0 && <p className="hint">No tools: the agent only answers.</p>}
      <ol className="tool-list">
        {tools.map((tool, index) => {
          const action = tool.action || {};
          const id = `tool-${liveKeys[index]}`;
          const errs = (path) => at(index, path);
          const invalid = (path) => (errs(path).length ? "invalid" : "");
          return (
            <li key={liveKeys[index]} className="tool" data-tool-index={index}>
              <div className="tool-head">
                <strong>{tool.name || `Tool ${index + 1}`}</strong>
                <span className="tool-actions">
                  <button type="button" onClick={() => move(index, -1)} disabled={index === 0} aria-label={`Move tool ${index + 1} up`}>
                    ↑
                  </button>
                  <button type="button" onClick={() => move(index, 1)} disabled={index === tools.length - 1} aria-label={`Move tool ${index + 1} down`}>
                    ↓
                  </button>
                  <button type="button" className="danger" onClick={() => remove(index)} aria-label={`Remove tool ${index + 1}`}>
                    ✕
                  </button>
                </span>
              </div>
              <label htmlFor={`${id}-name`}>Name</label>
              <input
                id={`${id}-name`}
                name={`tools[${index}].name`}
                value={tool.name || ""}
                className={invalid(".name")}
                onChange={(event) => update(index, { name: event.target.value })}
              />
              <Problems problems={errs(".name")} />
              <label htmlFor={`${id}-description`}>Description</label>
              <textarea
                id={`${id}-description`}
                name={`tools[${index}].description`}
                rows={2}
                value={tool.description || ""}
                className={invalid(".description")}
                onChange={(event) => update(index, { description: event.target.value })}
              />
              <Problems problems={errs(".description")} />
              <label>
                Parameters (JSON Schema)
                <ParsedText
                  name={`tools[${index}].parameters`}
                  value={tool.parameters}
                  {...objectText}
                  multiline
                  invalid={errs(".parameters").length > 0}
                  onCommit={(parameters) => update(index, { parameters })}
                />
              </label>
              <Problems problems={errs(".parameters")} />
              <label htmlFor={`${id}-action`}>Action</label>
              <select
                id={`${id}-action`}
                name={`tools[${index}].action.type`}
                value={action.type || ""}
                className={invalid(".action.type")}
                onChange={(event) => update(index, { action: NEW_ACTION[event.target.value] })}
              >
                {!action.type && <option value="">(choose)</option>}
                <option value="webhook">Call a webhook</option>
                <option value="workflow">Run a workflow</option>
              </select>
              <Problems problems={errs(".action.type")} />
              {action.type === "webhook" && (
                <div className="tool-action">
                  <label htmlFor={`${id}-url`}>URL</label>
                  <input
                    id={`${id}-url`}
                    name={`tools[${index}].action.url`}
                    value={action.url || ""}
                    placeholder="https://example.com/tool"
                    className={invalid(".action.url")}
                    onChange={(event) => updateAction(index, { url: event.target.value })}
                  />
                  <Problems problems={errs(".action.url")} />
                  <label htmlFor={`${id}-method`}>Method</label>
                  <select
                    id={`${id}-method`}
                    name={`tools[${index}].action.method`}
                    value={action.method || "POST"}
                    className={invalid(".action.method")}
                    onChange={(event) => updateAction(index, { method: event.target.value })}
                  >
                    {METHODS.map((method) => (
                      <option key={method}>{method}</option>
                    ))}
                  </select>
                  <Problems problems={errs(".action.method")} />
                  <label>
                    Headers (JSON object)
                    <ParsedText
                      name={`tools[${index}].action.headers`}
                      value={action.headers}
                      {...objectText}
                      multiline
                      invalid={errs(".action.headers").length > 0}
                      onCommit={(headers) => updateAction(index, { headers: headers || {} })}
                    />
                  </label>
                  <Problems problems={errs(".action.headers")} />
                  <label className="checkbox">
                    <input
                      type="checkbox"
                      name={`tools[${index}].action.sign`}
                      checked={action.sign === true}
                      onChange={(event) => updateAction(index, { sign: event.target.checked })}
                    />
                    Sign (Standard Webhooks)
                  </label>
                  <Problems problems={errs(".action.sign")} />
                </div>
              )}
              {action.type === "workflow" && (
                <div className="tool-action">
                  <label htmlFor={`${id}-workflow`}>Workflow</label>
                  <select
                    id={`${id}-workflow`}
                    name={`tools[${index}].action.workflow`}
                    value={action.workflow ?? ""}
                    className={invalid(".action.workflow")}
                    onChange={(event) => updateAction(index, { workflow: event.target.value ? Number(event.target.value) : null })}
                  >
                    <option value="">(choose a workflow)</option>
                    {action.workflow != null && !workflows.some((workflow) => workflow.id === action.workflow) && (
                      <option value={action.workflow}>#{action.workflow}</option>
                    )}
                    {workflows.map((workflow) => (
                      <option key={workflow.id} value={workflow.id}>
                        {workflow.name}
                      </option>
                    ))}
                  </select>
                  <div className="hint">Runs as a child workflow: its input is the tool's arguments, its output the result.</div>
                  <Problems problems={errs(".action.workflow")} />
                </div>
              )}
            </li>
          );
        })}
      </ol>
      <button type="button" onClick={add}>
        + tool
      </button>
    </fieldset>
  );
}
