import { Handle, Position } from "@xyflow/react";
import { createContext, memo, useContext } from "react";
import { NODE_TYPES, canonicalType, summary, typeSpec } from "./nodeTypes.js";

// What the canvas shows on top of a node without storing it in the node (so it is never saved):
// validation errors (editor), run status (monitor) and version-diff marks (editor history).
export const NodeDecorations = createContext({ errors: {}, status: {}, diff: {} });

const STATUS_LABEL = {
  pending: "pending",
  running: "running",
  completed: "completed",
  failed: "failed",
  skipped: "skipped",
  waiting: "waiting for approval",
  cancelled: "cancelled",
};

function WorkflowNode({ id, type, data, selected }) {
  const spec = typeSpec(type) || { label: type, icon: "?", color: "#64748b", fields: [] };
  const { errors, status, diff } = useContext(NodeDecorations);
  const problems = errors[id] || [];
  const state = status[id];
  const mark = diff[id];
  const classes = ["wf-node"];
  if (selected) classes.push("selected");
  if (problems.length) classes.push("has-error");
  if (state) classes.push(`status-${state}`);
  if (mark) classes.push(`diff-${mark}`);
  const handles = spec.handles || [];
  const name = canonicalType(type) || type;
  return (
    <div className={classes.join(" ")} style={{ "--node-color": spec.color }} data-node-type={name} data-status={state || ""}>
      {spec.incoming !== false && <Handle type="target" position={Position.Top} />}
      <div className="wf-node-head">
        <span className="wf-node-icon" aria-hidden="true">
          {spec.icon}
        </span>
        <span className="wf-node-title">{data?.label || id}</span>
      </div>
      <div className="wf-node-type">
        <span>{spec.label}</span>
        {state && <span className={`wf-badge status-${state}`}>{STATUS_LABEL[state] || state}</span>}
        {mark && <span className={`wf-badge diff-${mark}`}>{mark}</span>}
      </div>
      <div className="wf-node-summary">{summary(type, data)}</div>
      {problems.length > 0 && (
        <ul className="wf-node-errors" role="alert">
          {problems.map((problem, index) => (
            <li key={index}>{problem.message}</li>
          ))}
        </ul>
      )}
      {spec.outgoing !== false && handles.length === 0 && <Handle type="source" position={Position.Bottom} />}
      {handles.map((handle, index) => (
        <Handle
          key={handle}
          id={handle}
          type="source"
          position={Position.Bottom}
          className={`wf-handle wf-handle-${handle}`}
          style={{ left: `${((index + 1) * 100) / (handles.length + 1)}%` }}
        >
          <span className="wf-handle-label">{handle}</span>
        </Handle>
      ))}
    </div>
  );
}

const Memo = memo(WorkflowNode);

// Canonical names and aliases render alike: imported graphs may use either. The types are the
// catalogue's (empty on pages that draw no graph).
export const nodeTypes = Object.fromEntries(
  Object.entries(NODE_TYPES).flatMap(([name, spec]) => [
    [name, Memo],
    [spec.alias, Memo],
  ]),
);
