// The workflow editor: a canvas to build the graph, validated as you type, saved as versions.
// State lives in three hooks (history, live validation, the saved document); what is drawn is in
// editor/ (toolbar, palette, side panel and one file per tab) and the canvas shared with the monitor.
import { ReactFlowProvider, addEdge, applyEdgeChanges, applyNodeChanges, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, config, pageUrl } from "./api.js";
import Palette from "./editor/Palette.jsx";
import SidePanel from "./editor/SidePanel.jsx";
import PropertiesTab from "./editor/tabs/PropertiesTab.jsx";
import RunTab from "./editor/tabs/RunTab.jsx";
import TemplatesTab from "./editor/tabs/TemplatesTab.jsx";
import VersionsTab from "./editor/tabs/VersionsTab.jsx";
import Toolbar from "./editor/Toolbar.jsx";
import { DRAG_TYPE, cleanEdge, cleanNode, edgeId, freshNodeId, graphFrom } from "./editor/graph.js";
import useGraphHistory from "./editor/useGraphHistory.js";
import useLiveValidation from "./editor/useLiveValidation.js";
import useWorkflowDocument from "./editor/useWorkflowDocument.js";
import GraphCanvas from "./GraphCanvas.jsx";
import { autoLayout, needsLayout } from "./layout.js";
import { NODE_TYPES } from "./nodeTypes.js";
import TopBar from "./TopBar.jsx";

export default function Editor() {
  return (
    <ReactFlowProvider>
      <EditorPage />
    </ReactFlowProvider>
  );
}

/** The canvas marks of a comparison between two versions: added, changed and removed. */
function diffViewOf(diff) {
  if (!diff) return null;
  const { result, fromGraph, toGraph } = diff;
  const marks = {};
  for (const id of result.nodes_added) marks[id] = "added";
  for (const id of result.nodes_changed) marks[id] = "changed";
  for (const id of result.nodes_removed) marks[id] = "removed";
  const removed = fromGraph.nodes.filter((node) => result.nodes_removed.includes(node.id));
  const nodes = [...toGraph.nodes, ...removed].map((node) => ({ ...node, draggable: false, connectable: false }));
  const edgeClass = (id) =>
    result.edges_added.includes(id)
      ? "diff-added"
      : result.edges_changed.includes(id)
        ? "diff-changed"
        : result.edges_removed.includes(id)
          ? "diff-removed"
          : "";
  const removedEdges = fromGraph.edges.filter((edge) => result.edges_removed.includes(edge.id));
  const edges = [...toGraph.edges, ...removedEdges].map((edge) => ({ ...edge, className: edgeClass(edge.id) }));
  return { marks, nodes: needsLayout(nodes) ? autoLayout(nodes, edges) : nodes, edges };
}

function EditorPage() {
  const flow = useReactFlow();
  const canEdit = Boolean(config.can?.edit);
  const [nodes, setNodes] = useState([]);
  const [edges, setEdges] = useState([]);
  const [selection, setSelection] = useState(null); // {kind: "node" | "edge", id}
  const [notice, setNotice] = useState(null);
  const [tab, setTab] = useState(config.workflow ? "properties" : "templates");
  const [diff, setDiff] = useState(null);
  const nodesRef = useRef(nodes);
  const edgesRef = useRef(edges);
  nodesRef.current = nodes;
  edgesRef.current = edges;

  const flash = useCallback((text, kind = "info") => setNotice({ text, kind, at: Date.now() }), []);
  const fit = useCallback(() => setTimeout(() => flow.fitView({ padding: 0.2, maxZoom: 1.2 }), 60), [flow]);
  const loadGraph = useCallback(
    (graph, { layout = false } = {}) => {
      setNodes(layout || needsLayout(graph.nodes) ? autoLayout(graph.nodes, graph.edges) : graph.nodes);
      setEdges(graph.edges);
      setSelection(null);
      fit();
    },
    [fit],
  );
  const definition = useCallback(
    () => ({ nodes: nodesRef.current.map(cleanNode), edges: edgesRef.current.map(cleanEdge), viewport: flow.getViewport() }),
    [flow],
  );

  const markDirty = useRef(() => {});
  const history = useGraphHistory({ nodesRef, edgesRef, setNodes, setEdges, onChange: () => markDirty.current() });
  const refusal = useRef(() => {});
  const onSaveRefused = useCallback((errors) => refusal.current(errors), []);
  const doc = useWorkflowDocument({ definition, loadGraph, flash, onSaveRefused, resetHistory: history.reset });
  markDirty.current = () => doc.setDirty(true);
  const validation = useLiveValidation({ nodes, edges, paused: doc.loading, definition, flash });
  refusal.current = validation.showRefusal;
  const { remember } = history;

  // Canvas events -------------------------------------------------------------------------------
  const onNodesChange = useCallback(
    (changes) => {
      if (changes.some((change) => change.type === "remove")) remember();
      setNodes((current) => applyNodeChanges(changes, current));
    },
    [remember],
  );
  const onEdgesChange = useCallback(
    (changes) => {
      if (changes.some((change) => change.type === "remove")) remember();
      setEdges((current) => applyEdgeChanges(changes, current));
    },
    [remember],
  );
  const onConnect = useCallback(
    (connection) => {
      remember();
      setEdges((current) => addEdge({ ...connection, id: edgeId(connection) }, current));
    },
    [remember],
  );
  const isValidConnection = useCallback((connection) => connection.source !== connection.target, []);
  const addNode = useCallback(
    (type, position) => {
      remember();
      const id = freshNodeId(type, nodesRef.current);
      const node = { id, type, position, data: structuredClone(NODE_TYPES[type].defaults || {}), selected: true };
      setNodes((current) => [...current.map((item) => (item.selected ? { ...item, selected: false } : item)), node]);
      setSelection({ kind: "node", id });
      setTab("properties");
    },
    [remember],
  );
  const onDrop = useCallback(
    (event) => {
      event.preventDefault();
      const type = event.dataTransfer.getData(DRAG_TYPE);
      if (!NODE_TYPES[type]) return;
      const point = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      addNode(type, { x: point.x - 100, y: point.y - 30 });
    },
    [flow, addNode],
  );
  const onDragOver = useCallback((event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  }, []);
  const addAtCentre = (type) => {
    const box = document.querySelector(".editor-canvas")?.getBoundingClientRect();
    const point = box ? flow.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 }) : { x: 0, y: 0 };
    addNode(type, { x: point.x - 100 + (nodesRef.current.length % 5) * 20, y: point.y - 30 });
  };
  const updateData = useCallback(
    (nodeId, field, value) => {
      remember(`${nodeId}.${field}`);
      setNodes((current) =>
        current.map((node) => {
          if (node.id !== nodeId) return node;
          const data = { ...node.data };
          if (value === undefined || value === "") delete data[field];
          else data[field] = value;
          return { ...node, data };
        }),
      );
    },
    [remember],
  );
  const deleteSelected = () => {
    if (!selection) return;
    remember();
    if (selection.kind === "node") {
      setNodes((current) => current.filter((node) => node.id !== selection.id));
      setEdges((current) => current.filter((edge) => edge.source !== selection.id && edge.target !== selection.id));
    } else {
      setEdges((current) => current.filter((edge) => edge.id !== selection.id));
    }
    setSelection(null);
  };

  // Running, versions, templates, import/export ---------------------------------------------------
  const [runInput, setRunInput] = useState("{}");
  const [running, setRunning] = useState(false);
  const run = async () => {
    let input;
    try {
      input = JSON.parse(runInput || "{}");
    } catch (error) {
      flash(`Input is not valid JSON: ${error.message}`, "error");
      return;
    }
    setRunning(true);
    try {
      const id = doc.dirty || !doc.workflowId ? await doc.save() : doc.workflowId;
      if (!id) return;
      const execution = await api(`workflows/${id}/execute`, { method: "POST", body: { input } });
      doc.go(pageUrl(`/executions/${execution.id}/`));
    } catch (error) {
      flash(`Not started: ${error.message}`, "error");
    } finally {
      setRunning(false);
    }
  };
  const compare = async (fromNumber, toNumber) => {
    try {
      const result = await api(`workflows/${doc.workflowId}/diff?from=${fromNumber}&to=${toNumber}`);
      const byNumber = Object.fromEntries(doc.versions.map((version) => [version.number, version]));
      setDiff({ from: fromNumber, to: toNumber, result, fromGraph: byNumber[fromNumber].graph, toGraph: byNumber[toNumber].graph });
      setSelection(null);
      fit();
    } catch (error) {
      flash(`Could not compare: ${error.message}`, "error");
    }
  };
  const restore = async (number) => {
    setDiff(null);
    await doc.restore(number);
  };
  const [templates, setTemplates] = useState(null);
  useEffect(() => {
    if (tab === "templates" && templates === null) {
      api("workflow-templates")
        .then(setTemplates)
        .catch((error) => flash(`Templates unavailable: ${error.message}`, "error"));
    }
  }, [tab, templates, flash]);
  const instantiate = async (slug) => {
    try {
      const detail = await api(`workflow-templates/${slug}/instantiate`, { method: "POST", body: {} });
      doc.go(pageUrl(`/workflows/${detail.id}/edit`));
    } catch (error) {
      flash(`Could not use the template: ${error.message}`, "error");
    }
  };
  const exportJson = () => {
    const blob = new Blob([JSON.stringify(definition(), null, 2)], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${(doc.name || "workflow").toLowerCase().replace(/[^a-z0-9]+/g, "-")}.json`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  };
  const importJson = async (event) => {
    const file = event.target.files?.[0];
    event.target.value = "";
    if (!file) return;
    try {
      const graph = graphFrom(JSON.parse(await file.text()));
      remember();
      loadGraph(graph);
      flash(`Imported ${graph.nodes.length} nodes and ${graph.edges.length} edges`);
    } catch (error) {
      flash(`Not imported: ${error.message}`, "error");
    }
  };
  const layout = () => {
    remember();
    setNodes((current) => autoLayout(current, edgesRef.current));
    fit();
  };

  // What the canvas shows -------------------------------------------------------------------------
  const { problems, validity, problemsByNode, problemsByEdge } = validation;
  const diffView = useMemo(() => diffViewOf(diff), [diff]);
  const shownEdges = useMemo(
    () =>
      edges.map((edge) => {
        const edgeProblems = problemsByEdge[edge.id];
        const handle = edge.sourceHandle ? { label: edge.sourceHandle } : {};
        if (!edgeProblems) return { ...edge, ...handle };
        return { ...edge, className: "edge-error", label: edgeProblems.map((problem) => problem.message).join("; ") };
      }),
    [edges, problemsByEdge],
  );
  const decorations = useMemo(
    () => ({ errors: diff ? {} : problemsByNode, status: {}, diff: diffView?.marks || {} }),
    [diff, diffView, problemsByNode],
  );
  const selectedNode = selection?.kind === "node" ? nodes.find((node) => node.id === selection.id) : null;
  const selectedEdge = selection?.kind === "edge" ? edges.find((edge) => edge.id === selection.id) : null;
  const select = (kind, id) => {
    setSelection({ kind, id });
    setTab("properties");
  };

  return (
    <div className="console editor-page">
      <TopBar title="Workflow editor">
        <Toolbar
          name={doc.name}
          onRename={(value) => {
            doc.setName(value);
            doc.setDirty(true);
          }}
          latestVersion={doc.latestVersion}
          validity={validity}
          problemCount={problems.length}
          history={history.size}
          onUndo={history.undo}
          onRedo={history.redo}
          onLayout={layout}
          onExport={exportJson}
          onImport={importJson}
          onSave={doc.save}
          dirty={doc.dirty}
        />
      </TopBar>
      {notice && (
        <div className={`notice notice-${notice.kind}`} role="status" key={notice.at}>
          {notice.text}
          <button type="button" className="link" onClick={() => setNotice(null)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      )}
      <div className="editor-body">
        {canEdit && <Palette onAdd={addAtCentre} />}
        <div className="editor-canvas" onDrop={diff ? undefined : onDrop} onDragOver={onDragOver}>
          {diff && (
            <div className="diff-banner" data-testid="diff-banner">
              Comparing v{diff.from} → v{diff.to}: {diff.result.nodes_added.length} added, {diff.result.nodes_removed.length}{" "}
              removed, {diff.result.nodes_changed.length} changed
              <span className="legend">
                <i className="diff-added" /> added <i className="diff-removed" /> removed <i className="diff-changed" /> changed
              </span>
              <button type="button" onClick={() => setDiff(null)}>
                Back to editing
              </button>
            </div>
          )}
          {!diff && !doc.loading && nodes.length === 0 && (
            <div className="canvas-hint">
              Drag nodes from the palette, import a JSON document, or{" "}
              <button type="button" className="link" onClick={() => setTab("templates")}>
                start from a template
              </button>
              .
            </div>
          )}
          <GraphCanvas
            decorations={decorations}
            miniMap
            nodes={diff ? diffView.nodes : nodes}
            edges={diff ? diffView.edges : shownEdges}
            onNodesChange={diff ? undefined : onNodesChange}
            onEdgesChange={diff ? undefined : onEdgesChange}
            onConnect={diff ? undefined : onConnect}
            isValidConnection={isValidConnection}
            onNodeDragStart={() => remember()}
            onNodeClick={(_, node) => select("node", node.id)}
            onEdgeClick={(_, edge) => select("edge", edge.id)}
            onPaneClick={() => setSelection(null)}
            deleteKeyCode={diff || !canEdit ? null : ["Backspace", "Delete"]}
            nodesConnectable={!diff}
            defaultViewport={{ x: 40, y: 20, zoom: 1 }}
          />
        </div>
        <SidePanel
          tab={tab}
          onTab={setTab}
          problems={problems}
          onSelectProblem={(problem) => {
            if (problem.edge_id) select("edge", problem.edge_id);
            else if (problem.node_id) select("node", problem.node_id);
          }}
          panels={{
            properties: (
              <PropertiesTab
                node={selectedNode}
                edge={selectedEdge}
                problemsByNode={problemsByNode}
                problemsByEdge={problemsByEdge}
                onChange={updateData}
                onDelete={canEdit ? deleteSelected : null}
              />
            ),
            versions: (
              <VersionsTab
                workflowId={doc.workflowId}
                versions={doc.versions}
                latest={doc.latestVersion}
                diff={diff}
                onCompare={compare}
                onRestore={restore}
                canEdit={canEdit}
              />
            ),
            templates: <TemplatesTab templates={templates} onUse={instantiate} canEdit={canEdit} />,
            run: <RunTab input={runInput} onInput={setRunInput} onRun={run} running={running} invalid={validity === "invalid"} />,
          }}
        />
      </div>
    </div>
  );
}
