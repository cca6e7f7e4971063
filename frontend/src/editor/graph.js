// Plain helpers over ReactFlow documents: what is saved, ids for new nodes and edges, parsing.
import { typeSpec } from "../nodeTypes.js";

export const DRAG_TYPE = "application/x-mono-node";

export function cleanNode(node) {
  const { selected, dragging, measured, resizing, ...rest } = node;
  return rest;
}

export function cleanEdge(edge) {
  const { selected, className, label, animated, style, ...rest } = edge;
  return rest;
}

export function edgeId(connection) {
  return `e-${connection.source}-${connection.sourceHandle || "out"}-${connection.target}`;
}

export function freshNodeId(type, nodes) {
  const alias = typeSpec(type)?.alias || "node";
  const taken = new Set(nodes.map((node) => node.id));
  let index = 1;
  while (taken.has(`${alias}-${index}`)) index += 1;
  return `${alias}-${index}`;
}

/** Nodes and edges of a ReactFlow document (or of an API detail carrying one as `definition`). */
export function graphFrom(document) {
  const graph = document?.definition && Array.isArray(document.definition.nodes) ? document.definition : document;
  if (!graph || !Array.isArray(graph.nodes)) throw new Error("expected a ReactFlow document with nodes and edges");
  const nodes = graph.nodes.map((node) => ({ ...node, data: node.data || {}, position: node.position || { x: NaN, y: NaN } }));
  const edges = (graph.edges || []).map((edge) => ({ ...edge, id: edge.id || edgeId(edge) }));
  return { nodes, edges, viewport: graph.viewport };
}
