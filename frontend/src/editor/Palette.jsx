import { NODE_TYPES } from "../nodeTypes.js";
import { DRAG_TYPE } from "./graph.js";

/** Node types to drag onto the canvas; double-click, Enter or Space adds one in the middle. */
export default function Palette({ onAdd }) {
  return (
    <aside className="palette" aria-label="Node palette">
      <h3>Nodes</h3>
      {Object.entries(NODE_TYPES).map(([type, spec]) => (
        <div
          key={type}
          className="palette-item"
          draggable
          role="button"
          tabIndex={0}
          aria-label={`Add ${spec.label}`}
          data-type={type}
          title={spec.help}
          style={{ "--node-color": spec.color }}
          onDragStart={(event) => {
            event.dataTransfer.setData(DRAG_TYPE, type);
            event.dataTransfer.effectAllowed = "move";
          }}
          onDoubleClick={() => onAdd(type)}
          onKeyDown={(event) => {
            if (event.key === "Enter" || event.key === " ") {
              event.preventDefault();
              onAdd(type);
            }
          }}
        >
          <span className="wf-node-icon">{spec.icon}</span>
          <span>{spec.label}</span>
        </div>
      ))}
      <p className="hint">
        Drag onto the canvas (or double-click, or Enter). Connect a node's bottom handle to the next node's top. Delete/Backspace removes the
        selection.
      </p>
    </aside>
  );
}
