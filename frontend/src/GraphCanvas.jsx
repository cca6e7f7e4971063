import { Background, Controls, MiniMap, ReactFlow } from "@xyflow/react";
import { typeSpec } from "./nodeTypes.js";
import { NodeDecorations, nodeTypes } from "./WorkflowNode.jsx";

const miniMapColor = (node) => typeSpec(node.type)?.color || "#94a3b8";

/** The workflow graph on a ReactFlow canvas, with each node decorated (problems, run status,
 * diff marks). The editor passes its change handlers; the monitor leaves them out (read-only). */
export default function GraphCanvas({ decorations, miniMap = false, readOnly = false, children, ...flowProps }) {
  return (
    <NodeDecorations.Provider value={decorations}>
      <ReactFlow
        nodeTypes={nodeTypes}
        minZoom={0.1}
        proOptions={{ hideAttribution: true }}
        {...(readOnly ? { nodesDraggable: false, nodesConnectable: false, deleteKeyCode: null } : {})}
        {...flowProps}
      >
        <Background gap={16} />
        {miniMap && <MiniMap pannable zoomable nodeColor={miniMapColor} />}
        <Controls showInteractive={!readOnly} />
        {children}
      </ReactFlow>
    </NodeDecorations.Provider>
  );
}
