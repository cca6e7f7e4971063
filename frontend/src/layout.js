import dagre from "@dagrejs/dagre";

const WIDTH = 220;
const HEIGHT = 90;

/** Top-to-bottom positions for every node (dagre), e.g. for an imported graph without layout. */
export function autoLayout(nodes, edges) {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 70 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) {
    graph.setNode(node.id, { width: node.measured?.width || WIDTH, height: node.measured?.height || HEIGHT });
  }
  for (const edge of edges) {
    if (graph.hasNode(edge.source) && graph.hasNode(edge.target)) graph.setEdge(edge.source, edge.target);
  }
  dagre.layout(graph);
  return nodes.map((node) => {
    const placed = graph.node(node.id);
    const width = node.measured?.width || WIDTH;
    const height = node.measured?.height || HEIGHT;
    return { ...node, position: { x: placed.x - width / 2, y: placed.y - height / 2 } };
  });
}

/** True when positions are missing or several nodes sit on the same spot. */
export function needsLayout(nodes) {
  const seen = new Set();
  for (const node of nodes) {
    const position = node.position;
    if (!position || !Number.isFinite(position.x) || !Number.isFinite(position.y)) return true;
    const key = `${Math.round(position.x)}:${Math.round(position.y)}`;
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}
