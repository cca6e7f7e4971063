// The Properties tab: the selected node's `data` form (drawn from the node-type catalogue) or the
// selected edge, each with the validator's problems next to the field they concern.
import { ParsedText, jsonText, listText } from "../../Forms.jsx";
import { NODE_TYPES, canonicalType, fieldShown } from "../../nodeTypes.js";
import ToolsEditor from "../ToolsEditor.jsx";

function fieldProblems(problems, field) {
  return problems.filter(
    (problem) => problem.field === field || problem.field?.startsWith(`${field}.`) || problem.field?.startsWith(`${field}[`),
  );
}

export function NodeForm({ node, problems, onChange, onDelete }) {
  const type = canonicalType(node.type);
  const spec = NODE_TYPES[type];
  if (!spec) return <p className="field-problem">Unknown node type {String(node.type)}.</p>;
  const data = node.data || {};
  const set = (field) => (value) => onChange(node.id, field, value);
  const known = new Set(spec.fields.map((field) => field.name));
  const general = problems.filter((problem) => !problem.field || !known.has(problem.field.split(/[.[]/)[0]));
  return (
    <form className="node-form" onSubmit={(event) => event.preventDefault()} data-node-id={node.id}>
      <div className="node-form-head" style={{ "--node-color": spec.color }}>
        <span className="wf-node-icon">{spec.icon}</span>
        <div>
          <strong>{spec.label}</strong> <code>{node.id}</code>
          <div className="hint">{spec.help}</div>
        </div>
      </div>
      <label>
        Label
        <input value={data.label || ""} placeholder={node.id} onChange={(event) => set("label")(event.target.value)} name="label" />
      </label>
      {spec.fields.map((field) => {
        const errs = fieldProblems(problems, field.name);
        if (!fieldShown(field, data) && !errs.length) return null;
        return (
          <div key={field.name} className={`field${errs.length ? " has-error" : ""}`}>
            {field.kind === "tools" ? (
              <ToolsEditor value={data[field.name]} onChange={set(field.name)} problems={errs} label={<span className="field-label">{field.label}</span>} />
            ) : (
              <FieldInput field={field} value={data[field.name]} onChange={set(field.name)} invalid={errs.length > 0} />
            )}
            {field.help && <div className="hint">{field.help}</div>}
            {field.kind !== "tools" &&
              errs.map((problem, index) => (
                <div key={index} className="field-problem">
                  {problem.message}
                </div>
              ))}
          </div>
        );
      })}
      {general.map((problem, index) => (
        <div key={index} className="field-problem">
          {problem.message}
        </div>
      ))}
      {onDelete && (
        <button type="button" className="danger" onClick={onDelete}>
          Delete node
        </button>
      )}
    </form>
  );
}

function FieldInput({ field, value, onChange, invalid }) {
  const label = <span className="field-label">{field.label}</span>;
  const className = invalid ? "invalid" : "";
  switch (field.kind) {
    case "select":
      return (
        <label>
          {label}
          <select name={field.name} value={value ?? ""} onChange={(event) => onChange(event.target.value)} className={className}>
            <option value="">(default)</option>
            {field.options.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
        </label>
      );
    case "checkbox":
      return (
        <label className="checkbox">
          <input type="checkbox" name={field.name} checked={value === true} onChange={(event) => onChange(event.target.checked)} />
          {label}
        </label>
      );
    case "textarea":
      return (
        <label>
          {label}
          <textarea
            name={field.name}
            rows={3}
            value={value == null ? "" : String(value)}
            placeholder={field.placeholder}
            onChange={(event) => onChange(event.target.value)}
            className={className}
          />
        </label>
      );
    case "list":
      return (
        <label>
          {label}
          <ParsedText name={field.name} value={value} {...listText} placeholder={field.placeholder} onCommit={(next) => onChange(next.length ? next : undefined)} invalid={invalid} />
        </label>
      );
    case "json":
      return (
        <label>
          {label}
          <ParsedText name={field.name} value={value} {...jsonText} multiline onCommit={onChange} invalid={invalid} />
        </label>
      );
    case "number":
      return (
        <label>
          {label}
          <input
            type="number"
            name={field.name}
            value={value == null ? "" : String(value)}
            placeholder={field.placeholder}
            onChange={(event) => onChange(event.target.value === "" ? undefined : Number(event.target.value))}
            className={className}
          />
        </label>
      );
    case "messages":
      return <MessagesInput value={value} onChange={onChange} label={label} />;
    default:
      return (
        <label>
          {label}
          <input
            name={field.name}
            value={value == null ? "" : String(value)}
            placeholder={field.placeholder}
            onChange={(event) => onChange(event.target.value)}
            className={className}
          />
        </label>
      );
  }
}

function MessagesInput({ value, onChange, label }) {
  const messages = Array.isArray(value) ? value : [];
  const update = (index, patch) => onChange(messages.map((message, i) => (i === index ? { ...message, ...patch } : message)));
  return (
    <fieldset className="messages">
      <legend>{label}</legend>
      {messages.map((message, index) => (
        <div key={index} className="message-row">
          <select value={message.role || "user"} onChange={(event) => update(index, { role: event.target.value })} aria-label="Role">
            <option value="system">system</option>
            <option value="user">user</option>
            <option value="assistant">assistant</option>
          </select>
          <textarea rows={2} value={message.content || ""} onChange={(event) => update(index, { content: event.target.value })} aria-label="Content" />
          <button type="button" className="link" onClick={() => onChange(messages.filter((_, i) => i !== index))} aria-label="Remove message">
            ✕
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...messages, { role: "user", content: "" }])}>
        + message
      </button>
    </fieldset>
  );
}

export function EdgeForm({ edge, problems, onDelete }) {
  return (
    <div className="edge-form">
      <h3>Edge</h3>
      <dl>
        <dt>From</dt>
        <dd>
          <code>{edge.source}</code>
          {edge.sourceHandle ? ` (${edge.sourceHandle})` : ""}
        </dd>
        <dt>To</dt>
        <dd>
          <code>{edge.target}</code>
        </dd>
      </dl>
      {problems.map((problem, index) => (
        <div key={index} className="field-problem">
          {problem.message}
        </div>
      ))}
      {onDelete && (
        <button type="button" className="danger" onClick={onDelete}>
          Delete edge
        </button>
      )}
    </div>
  );
}


/** What the Properties tab shows: the selected node's form, the selected edge's, or a hint. */
export default function PropertiesTab({ node, edge, problemsByNode, problemsByEdge, onChange, onDelete }) {
  if (node) return <NodeForm key={node.id} node={node} problems={problemsByNode[node.id] || []} onChange={onChange} onDelete={onDelete} />;
  if (edge) return <EdgeForm edge={edge} problems={problemsByEdge[edge.id] || []} onDelete={onDelete} />;
  return <p className="hint">Select a node or an edge to edit it.</p>;
}
