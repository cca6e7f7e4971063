import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  addEdge,
  applyEdgeChanges,
  applyNodeChanges,
  useReactFlow,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, config, formatTime, pageUrl } from "./api.js";
import { ParsedText, jsonText, listText } from "./Forms.jsx";
import { autoLayout, needsLayout } from "./layout.js";
import { NODE_TYPES, canonicalType, typeSpec } from "./nodeTypes.js";
import { NodeDecorations, nodeTypes } from "./WorkflowNode.jsx";
import TopBar from "./TopBar.jsx";

const DRAG_TYPE = "application/x-mono-node";
const HISTORY_LIMIT = 100;
const VALIDATE_DELAY_MS = 350;

function cleanNode(node) {
  const { selected, dragging, measured, resizing, ...rest } = node;
  return rest;
}

function cleanEdge(edge) {
  const { selected, className, label, animated, style, ...rest } = edge;
  return rest;
}

function edgeId(connection) {
  return `e-${connection.source}-${connection.sourceHandle || "out"}-${connection.target}`;
}

function freshNodeId(type, nodes) {
  const alias = typeSpec(type)?.alias || "node";
  const taken = new Set(nodes.map((node) => node.id));
  let index = 1;
  while (taken.has(`${alias}-${index}`)) index += 1;
  return `${alias}-${index}`;
}

function graphFrom(document) {
  const graph = document?.definition && Array.isArray(document.definition.nodes) ? document.definition : document;
  if (!graph || !Array.isArray(graph.nodes)) throw new Error("expected a ReactFlow document with nodes and edges");
  const nodes = graph.nodes.map((node) => ({ ...node, data: node.data || {}, position: node.position || { x: NaN, y: NaN } }));
  const edges = (graph.edges || []).map((edge) => ({ ...edge, id: edge.id || edgeId(edge) }));
  return { nodes, edges, viewport: graph.viewport };
}

export default function Editor() {
  return (
    <ReactFlowProvider>
      <EditorCanvas />
    </ReactFlowProvider>
  );
}

function EditorCanvas() {
  const flow = useReactFlow();
  const [workflowId, setWorkflowId] = useState(config.workflow);
  const [name, setName] = useState(config.workflow ? "" : "Untitled workflow");
  const [nodes, setNodes] = useState([]);
  const [edges, setEdges] = useState([]);
  const [selection, setSelection] = useState(null); // {kind: "node" | "edge", id}
  const [problems, setProblems] = useState([]);
  const [validity, setValidity] = useState("checking");
  const [dirty, setDirty] = useState(false);
  const [notice, setNotice] = useState(null);
  const [tab, setTab] = useState(config.workflow ? "properties" : "templates");
  const [latestVersion, setLatestVersion] = useState(null);
  const [versions, setVersions] = useState([]);
  const [diff, setDiff] = useState(null);
  const [historySize, setHistorySize] = useState({ past: 0, future: 0 });
  const [loading, setLoading] = useState(Boolean(config.workflow));
  const nodesRef = useRef(nodes);
  const edgesRef = useRef(edges);
  const past = useRef([]);
  const future = useRef([]);
  const lastEdit = useRef(null);
  const validation = useRef(0);
  const fileInput = useRef(null);
  nodesRef.current = nodes;
  edgesRef.current = edges;

  const flash = useCallback((text, kind = "info") => setNotice({ text, kind, at: Date.now() }), []);

  // History: a snapshot of the graph before each change the user makes.
  const syncHistorySize = () => setHistorySize({ past: past.current.length, future: future.current.length });
  const remember = useCallback((coalesceKey = null) => {
    if (coalesceKey && lastEdit.current === coalesceKey) return;
    lastEdit.current = coalesceKey;
    past.current.push({ nodes: nodesRef.current.map(cleanNode), edges: edgesRef.current.map(cleanEdge) });
    if (past.current.length > HISTORY_LIMIT) past.current.shift();
    future.current = [];
    syncHistorySize();
    setDirty(true);
  }, []);
  const travel = useCallback((from, to) => {
    const target = from.current.pop();
    if (!target) return;
    to.current.push({ nodes: nodesRef.current.map(cleanNode), edges: edgesRef.current.map(cleanEdge) });
    lastEdit.current = null;
    setNodes(target.nodes);
    setEdges(target.edges);
    setDirty(true);
    syncHistorySize();
  }, []);
  const undo = useCallback(() => travel(past, future), [travel]);
  const redo = useCallback(() => travel(future, past), [travel]);
  const resetHistory = () => {
    past.current = [];
    future.current = [];
    lastEdit.current = null;
    syncHistorySize();
  };

  const fit = useCallback(() => setTimeout(() => flow.fitView({ padding: 0.2, maxZoom: 1.2 }), 60), [flow]);

  const loadGraph = useCallback(
    (graph, { layout = false } = {}) => {
      let nextNodes = graph.nodes;
      if (layout || needsLayout(nextNodes)) nextNodes = autoLayout(nextNodes, graph.edges);
      setNodes(nextNodes);
      setEdges(graph.edges);
      setSelection(null);
      fit();
    },
    [fit],
  );

  const loadVersions = useCallback(async (id) => {
    if (!id) return;
    const page = await api(`workflows/${id}/versions?limit=200`);
    setVersions(page.results || []);
  }, []);

  useEffect(() => {
    if (!config.workflow) return;
    (async () => {
      try {
        const detail = await api(`workflows/${config.workflow}`);
        setName(detail.name);
        setLatestVersion(detail.latest_version);
        loadGraph(graphFrom(detail.definition || { nodes: [], edges: [] }));
        await loadVersions(config.workflow);
      } catch (error) {
        flash(`Could not load the workflow: ${error.message}`, "error");
      } finally {
        setLoading(false);
      }
    })();
  }, [flash, loadGraph, loadVersions]);

  const definition = useCallback(
    () => ({
      nodes: nodesRef.current.map(cleanNode),
      edges: edgesRef.current.map(cleanEdge),
      viewport: flow.getViewport(),
    }),
    [flow],
  );

  // Real-time validation: whenever what the engine sees changes (not positions or selection).
  const engineKey = useMemo(
    () =>
      JSON.stringify([
        nodes.map((node) => [node.id, node.type, node.data]),
        edges.map((edge) => [edge.id, edge.source, edge.target, edge.sourceHandle || null]),
      ]),
    [nodes, edges],
  );
  useEffect(() => {
    if (loading) return undefined;
    setValidity("checking");
    const timer = setTimeout(async () => {
      const ticket = ++validation.current;
      try {
        const result = await api("workflows/validate", { method: "POST", body: { definition: definition() } });
        if (ticket !== validation.current) return;
        setProblems(result.errors);
        setValidity(result.valid ? "valid" : "invalid");
      } catch (error) {
        if (ticket === validation.current) {
          setValidity("unknown");
          flash(`Validation unavailable: ${error.message}`, "error");
        }
      }
    }, VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [engineKey, loading, definition, flash]);

  const problemsByNode = useMemo(() => {
    const byNode = {};
    for (const problem of problems) {
      if (problem.node_id && !problem.edge_id) (byNode[problem.node_id] ||= []).push(problem);
    }
    return byNode;
  }, [problems]);
  const problemsByEdge = useMemo(() => {
    const byEdge = {};
    for (const problem of problems) if (problem.edge_id) (byEdge[problem.edge_id] ||= []).push(problem);
    return byEdge;
  }, [problems]);

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
      const spec = NODE_TYPES[type];
      const id = freshNodeId(type, nodesRef.current);
      const node = { id, type, position, data: structuredClone(spec.defaults), selected: true };
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
    const point = box
      ? flow.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 })
      : { x: 0, y: 0 };
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

  // Undo/redo from the keyboard (not while typing in a field: the field has its own undo).
  useEffect(() => {
    const onKey = (event) => {
      const target = event.target;
      if (target.closest?.("input, textarea, select, [contenteditable=true]")) return;
      const mod = event.ctrlKey || event.metaKey;
      if (!mod) return;
      const key = event.key.toLowerCase();
      if (key === "z" && !event.shiftKey) {
        event.preventDefault();
        undo();
      } else if ((key === "z" && event.shiftKey) || key === "y") {
        event.preventDefault();
        redo();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undo, redo]);

  // Leaving with unsaved changes asks first, unless the editor itself is moving on (after a save).
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  const leaving = useRef(false);
  useEffect(() => {
    const warn = (event) => {
      if (dirtyRef.current && !leaving.current) event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, []);
  const go = (url) => {
    leaving.current = true;
    window.location.assign(url);
  };

  // Saving, running, history, templates, import/export ------------------------------------------
  const save = useCallback(async () => {
    const body = { name: name.trim() || "Untitled workflow", definition: definition() };
    try {
      const detail = workflowId
        ? await api(`workflows/${workflowId}`, { method: "PATCH", body })
        : await api("workflows", { method: "POST", body });
      if (!workflowId) {
        setWorkflowId(detail.id);
        window.history.replaceState(null, "", pageUrl(`/workflows/${detail.id}/edit`));
      }
      setLatestVersion(detail.latest_version);
      setDirty(false);
      flash(`Saved as version ${detail.latest_version}`);
      await loadVersions(detail.id);
      return detail.id;
    } catch (error) {
      if (Array.isArray(error.body?.definition)) {
        setProblems(error.body.definition);
        setValidity("invalid");
        flash("Not saved: fix the problems marked on the graph.", "error");
      } else {
        flash(`Not saved: ${error.message}`, "error");
      }
      return null;
    }
  }, [name, definition, workflowId, flash, loadVersions]);

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
      const id = dirty || !workflowId ? await save() : workflowId;
      if (!id) return;
      const execution = await api(`workflows/${id}/execute`, { method: "POST", body: { input } });
      go(pageUrl(`/executions/${execution.id}/`));
    } catch (error) {
      flash(`Not started: ${error.message}`, "error");
    } finally {
      setRunning(false);
    }
  };

  const compare = async (fromNumber, toNumber) => {
    try {
      const result = await api(`workflows/${workflowId}/diff?from=${fromNumber}&to=${toNumber}`);
      const byNumber = Object.fromEntries(versions.map((version) => [version.number, version]));
      setDiff({ from: fromNumber, to: toNumber, result, fromGraph: byNumber[fromNumber].graph, toGraph: byNumber[toNumber].graph });
      setSelection(null);
      fit();
    } catch (error) {
      flash(`Could not compare: ${error.message}`, "error");
    }
  };
  const restore = async (number) => {
    try {
      const detail = await api(`workflows/${workflowId}/versions/${number}/restore`, { method: "POST" });
      setDiff(null);
      resetHistory();
      loadGraph(graphFrom(detail.definition));
      setLatestVersion(detail.latest_version);
      setDirty(false);
      flash(`Restored version ${number} as version ${detail.latest_version}`);
      await loadVersions(workflowId);
    } catch (error) {
      flash(`Not restored: ${error.message}`, "error");
    }
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
      go(pageUrl(`/workflows/${detail.id}/edit`));
    } catch (error) {
      flash(`Could not use the template: ${error.message}`, "error");
    }
  };

  const exportJson = () => {
    const blob = new Blob([JSON.stringify(definition(), null, 2)], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${(name || "workflow").toLowerCase().replace(/[^a-z0-9]+/g, "-")}.json`;
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
  const diffView = useMemo(() => {
    if (!diff) return null;
    const { result, fromGraph, toGraph } = diff;
    const marks = {};
    for (const id of result.nodes_added) marks[id] = "added";
    for (const id of result.nodes_changed) marks[id] = "changed";
    for (const id of result.nodes_removed) marks[id] = "removed";
    const removed = fromGraph.nodes.filter((node) => result.nodes_removed.includes(node.id));
    const shownNodes = [...toGraph.nodes, ...removed].map((node) => ({ ...node, draggable: false, connectable: false }));
    const edgeClass = (id) =>
      result.edges_added.includes(id)
        ? "diff-added"
        : result.edges_changed.includes(id)
          ? "diff-changed"
          : result.edges_removed.includes(id)
            ? "diff-removed"
            : "";
    const removedEdges = fromGraph.edges.filter((edge) => result.edges_removed.includes(edge.id));
    const shownEdges = [...toGraph.edges, ...removedEdges].map((edge) => ({ ...edge, className: edgeClass(edge.id) }));
    return { marks, nodes: needsLayout(shownNodes) ? autoLayout(shownNodes, shownEdges) : shownNodes, edges: shownEdges };
  }, [diff]);

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

  const canEdit = Boolean(config.can?.edit);
  return (
    <div className="console editor-page">
      <TopBar title="Workflow editor">
        <input
          className="workflow-name"
          aria-label="Workflow name"
          readOnly={!canEdit}
          value={name}
          onChange={(event) => {
            setName(event.target.value);
            setDirty(true);
          }}
        />
        <span className="version-tag">{latestVersion ? `v${latestVersion}` : "unsaved"}</span>
        <span className={`validity validity-${validity}`} data-testid="validity">
          {{ valid: "✓ valid", invalid: `✗ ${problems.length} problem${problems.length === 1 ? "" : "s"}`, checking: "checking…" }[
            validity
          ] || "not checked"}
        </span>
        <div className="toolbar">
          {canEdit ? (
          <>
          <button type="button" onClick={undo} disabled={!historySize.past} title="Undo (Ctrl+Z)">
            ↶ Undo
          </button>
          <button type="button" onClick={redo} disabled={!historySize.future} title="Redo (Ctrl+Shift+Z)">
            ↷ Redo
          </button>
          <button type="button" onClick={layout} title="Arrange the nodes top to bottom">
            Layout
          </button>
          </>
          ) : (
            <span className="read-only" data-testid="read-only">
              Read only ({config.role})
            </span>
          )}
          <button type="button" onClick={exportJson}>
            Export
          </button>
          {canEdit && (
          <>
          <button type="button" onClick={() => fileInput.current?.click()}>
            Import
          </button>
          <input ref={fileInput} type="file" accept="application/json,.json" hidden onChange={importJson} data-testid="import-file" />
          <button type="button" className="primary" onClick={save} disabled={!config.can?.edit}>
            Save{dirty ? " *" : ""}
          </button>
          </>
          )}
        </div>
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
        {canEdit && (
        <aside className="palette" aria-label="Node palette">
          <h3>Nodes</h3>
          {Object.entries(NODE_TYPES).map(([type, spec]) => (
            <div
              key={type}
              className="palette-item"
              draggable
              data-type={type}
              title={spec.help}
              style={{ "--node-color": spec.color }}
              onDragStart={(event) => {
                event.dataTransfer.setData(DRAG_TYPE, type);
                event.dataTransfer.effectAllowed = "move";
              }}
              onDoubleClick={() => addAtCentre(type)}
            >
              <span className="wf-node-icon">{spec.icon}</span>
              <span>{spec.label}</span>
            </div>
          ))}
          <p className="hint">Drag onto the canvas (or double-click). Connect a node's bottom handle to the next node's top. Delete/Backspace removes the selection.</p>
        </aside>
        )}
        <div className="editor-canvas" onDrop={diff ? undefined : onDrop} onDragOver={onDragOver}>
          {diff && (
            <div className="diff-banner" data-testid="diff-banner">
              Comparing v{diff.from} → v{diff.to}: {diff.result.nodes_added.length} added, {diff.result.nodes_removed.length}{" "}
              removed, {diff.result.nodes_changed.length} changed nodes
              <span className="legend">
                <i className="diff-added" /> added <i className="diff-removed" /> removed <i className="diff-changed" /> changed
              </span>
              <button type="button" onClick={() => setDiff(null)}>
                Back to editing
              </button>
            </div>
          )}
          {!diff && !loading && nodes.length === 0 && (
            <div className="canvas-hint">
              Drag nodes from the palette, import a JSON document, or{" "}
              <button type="button" className="link" onClick={() => setTab("templates")}>
                start from a template
              </button>
              .
            </div>
          )}
          <NodeDecorations.Provider value={decorations}>
            <ReactFlow
              nodes={diff ? diffView.nodes : nodes}
              edges={diff ? diffView.edges : shownEdges}
              nodeTypes={nodeTypes}
              onNodesChange={diff ? undefined : onNodesChange}
              onEdgesChange={diff ? undefined : onEdgesChange}
              onConnect={diff ? undefined : onConnect}
              isValidConnection={isValidConnection}
              onNodeDragStart={() => remember()}
              onNodeClick={(_, node) => {
                setSelection({ kind: "node", id: node.id });
                setTab("properties");
              }}
              onEdgeClick={(_, edge) => {
                setSelection({ kind: "edge", id: edge.id });
                setTab("properties");
              }}
              onPaneClick={() => setSelection(null)}
              deleteKeyCode={diff || !canEdit ? null : ["Backspace", "Delete"]}
              nodesConnectable={!diff}
              defaultViewport={{ x: 40, y: 20, zoom: 1 }}
              minZoom={0.1}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={16} />
              <MiniMap pannable zoomable nodeColor={(node) => typeSpec(node.type)?.color || "#94a3b8"} />
              <Controls />
            </ReactFlow>
          </NodeDecorations.Provider>
        </div>
        <aside className="sidebar">
          <nav className="tabs" role="tablist">
            {[
              ["properties", "Properties"],
              ["versions", "Versions"],
              ["templates", "Templates"],
              ["run", "Run"],
            ].map(([key, label]) => (
              <button key={key} type="button" role="tab" aria-selected={tab === key} className={tab === key ? "active" : ""} onClick={() => setTab(key)}>
                {label}
              </button>
            ))}
          </nav>
          <div className="tab-body">
            {tab === "properties" &&
              (selectedNode ? (
                <NodeForm
                  key={selectedNode.id}
                  node={selectedNode}
                  problems={problemsByNode[selectedNode.id] || []}
                  onChange={updateData}
                  onDelete={canEdit ? deleteSelected : null}
                />
              ) : selectedEdge ? (
                <EdgeForm edge={selectedEdge} problems={problemsByEdge[selectedEdge.id] || []} onDelete={canEdit ? deleteSelected : null} />
              ) : (
                <p className="hint">Select a node or an edge to edit it.</p>
              ))}
            {tab === "versions" && (
              <Versions
                workflowId={workflowId}
                versions={versions}
                latest={latestVersion}
                diff={diff}
                onCompare={compare}
                onRestore={restore}
                canEdit={config.can?.edit}
              />
            )}
            {tab === "templates" && <Templates templates={templates} onUse={instantiate} canEdit={config.can?.edit} />}
            {tab === "run" && (
              <div className="run-form">
                <label htmlFor="run-input">Input (JSON object)</label>
                <textarea id="run-input" rows={8} value={runInput} onChange={(event) => setRunInput(event.target.value)} />
                <p className="hint">Available to templates as input.…; the run opens in the monitor. Unsaved changes are saved first.</p>
                {config.can?.execute ? (
                  <button type="button" className="primary" onClick={run} disabled={running || validity === "invalid"}>
                    {running ? "Starting…" : "Run workflow"}
                  </button>
                ) : (
                  <p className="hint">Your role ({config.role}) cannot start runs.</p>
                )}
                {validity === "invalid" && <p className="field-problem">Fix the problems first.</p>}
              </div>
            )}
          </div>
          <Problems
            problems={problems}
            onSelect={(problem) => {
              if (problem.edge_id) setSelection({ kind: "edge", id: problem.edge_id });
              else if (problem.node_id) setSelection({ kind: "node", id: problem.node_id });
              setTab("properties");
            }}
          />
        </aside>
      </div>
    </div>
  );
}

function fieldProblems(problems, field) {
  return problems.filter(
    (problem) => problem.field === field || problem.field?.startsWith(`${field}.`) || problem.field?.startsWith(`${field}[`),
  );
}

function NodeForm({ node, problems, onChange, onDelete }) {
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
        if (field.showIf && !field.showIf(data) && !errs.length) return null;
        return (
          <div key={field.name} className={`field${errs.length ? " has-error" : ""}`}>
            <FieldInput field={field} value={data[field.name]} onChange={set(field.name)} invalid={errs.length > 0} />
            {field.help && <div className="hint">{field.help}</div>}
            {errs.map((problem, index) => (
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

function EdgeForm({ edge, problems, onDelete }) {
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

function Versions({ workflowId, versions, latest, diff, onCompare, onRestore, canEdit }) {
  if (!workflowId) return <p className="hint">Save the workflow to start its version history.</p>;
  if (!versions.length) return <p className="hint">No versions yet.</p>;
  return (
    <ol className="versions">
      {versions.map((version) => (
        <li key={version.number} data-version={version.number} className={diff?.from === version.number ? "active" : ""}>
          <div>
            <strong>v{version.number}</strong> {version.number === latest && <span className="tag">latest</span>}
            <div className="hint">
              {version.author || "—"} · {formatTime(version.created_at)} · {version.graph?.nodes?.length ?? 0} nodes
            </div>
          </div>
          <div className="version-actions">
            {version.number !== latest && (
              <>
                <button type="button" onClick={() => onCompare(version.number, latest)}>
                  Compare
                </button>
                <button type="button" onClick={() => onRestore(version.number)} hidden={!canEdit}>
                  Restore
                </button>
              </>
            )}
            {version.number === latest && version.number > 1 && (
              <button type="button" onClick={() => onCompare(version.number - 1, version.number)}>
                Changes
              </button>
            )}
          </div>
        </li>
      ))}
    </ol>
  );
}

function Templates({ templates, onUse, canEdit }) {
  if (templates === null) return <p className="hint">Loading templates…</p>;
  return (
    <ul className="templates">
      {templates.map((template) => (
        <li key={template.slug} data-template={template.slug}>
          <strong>{template.name}</strong>
          <p className="hint">{template.description}</p>
          <button type="button" onClick={() => onUse(template.slug)} hidden={!canEdit}>
            Use this template
          </button>
        </li>
      ))}
    </ul>
  );
}

function Problems({ problems, onSelect }) {
  return (
    <section className="problems" aria-label="Problems">
      <h3>Problems ({problems.length})</h3>
      {problems.length === 0 ? (
        <p className="hint">None: the workflow can be saved and run.</p>
      ) : (
        <ul>
          {problems.map((problem, index) => (
            <li key={index}>
              <button type="button" className="link" onClick={() => onSelect(problem)}>
                {problem.node_id || problem.edge_id ? <code>{problem.edge_id || problem.node_id}</code> : null} {problem.message}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
