import { ReactFlowProvider } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, config, duration, formatTime, liveStream, pageUrl, temporalUrl } from "./api.js";
import { autoLayout, needsLayout } from "./layout.js";
import { canonicalType, typeSpec } from "./nodeTypes.js";
import TopBar from "./TopBar.jsx";
import GraphCanvas from "./GraphCanvas.jsx";
import ProblemList from "./ProblemList.jsx";

const FINISHED = new Set(["completed", "failed", "rejected", "cancelled"]);
const REACHED = new Set(["running", "waiting", "completed", "failed", "cancelled"]);

/** Each edge is taken (both ends reached), skipped (an end skipped, or the run ended without it)
 * or still pending. */
export function edgeState(edge, statusOf, runFinished) {
  const source = statusOf(edge.source);
  const target = statusOf(edge.target);
  if (source === "skipped" || target === "skipped") return "skipped";
  if (source === "completed" && REACHED.has(target)) return "taken";
  if (runFinished) return "skipped";
  return "pending";
}

function short(value) {
  if (value === undefined || value === null || value === "") return "—";
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return text.length > 1500 ? `${text.slice(0, 1500)}…` : text;
}

export default function Monitor() {
  return (
    <ReactFlowProvider>
      <MonitorCanvas />
    </ReactFlowProvider>
  );
}

function MonitorCanvas() {
  const executionId = config.execution;
  const graph = config.graph || { nodes: [], edges: [] };
  const [run, setRun] = useState({ status: "pending", error: "" });
  const [steps, setSteps] = useState({});
  const [liveApprovals, setLiveApprovals] = useState({});
  const [detail, setDetail] = useState(null);
  const [inbox, setInbox] = useState([]);
  const [selected, setSelected] = useState(null);
  const [connection, setConnection] = useState("connecting");
  const [notice, setNotice] = useState(null);
  const refreshTimer = useRef(null);

  const refresh = useCallback(async () => {
    try {
      const [execution, approvals] = await Promise.all([
        api(`executions/${encodeURIComponent(executionId)}`),
        config.can?.approve
          ? api(`approvals?status=pending&execution=${encodeURIComponent(executionId)}`)
          : Promise.resolve({ results: [] }),
      ]);
      setDetail(execution);
      setInbox(approvals.results || []);
    } catch (error) {
      setNotice({ kind: "error", text: `Could not load the run: ${error.message}` });
    }
  }, [executionId]);
  const refreshSoon = useCallback(() => {
    clearTimeout(refreshTimer.current);
    refreshTimer.current = setTimeout(refresh, 250);
  }, [refresh]);

  useEffect(() => {
    refresh();
    const onMessage = (message) => {
      if (message.kind === "snapshot") {
        setRun({ status: message.status, error: message.error || "" });
        setSteps(Object.fromEntries(message.steps.map((step) => [step.node_id, step])));
        setLiveApprovals(Object.fromEntries(message.approvals.map((approval) => [approval.node_id, approval])));
      } else if (message.kind.startsWith("step.")) {
        setSteps((current) => ({
          ...current,
          [message.node_id]: { ...current[message.node_id], ...message, error: message.error || "" },
        }));
      } else if (message.kind.startsWith("approval.")) {
        setLiveApprovals((current) => ({ ...current, [message.node_id]: { ...current[message.node_id], ...message } }));
      } else if (message.kind.startsWith("execution.")) {
        setRun({ status: message.status, error: message.error || "" });
      }
      refreshSoon();
    };
    return liveStream(`/ws/executions/${encodeURIComponent(executionId)}/`, onMessage, setConnection);
  }, [executionId, refresh, refreshSoon]);

  const statusOf = useCallback(
    (nodeId) => {
      const approval = liveApprovals[nodeId];
      const step = steps[nodeId];
      if (approval?.status === "pending" && (!step || !FINISHED.has(step.status))) return "waiting";
      return step?.status || "pending";
    },
    [steps, liveApprovals],
  );
  const runFinished = FINISHED.has(run.status);

  const nodes = useMemo(() => {
    const placed = needsLayout(graph.nodes) ? autoLayout(graph.nodes, graph.edges) : graph.nodes;
    return placed.map((node) => ({ ...node, draggable: false, connectable: false, selected: node.id === selected }));
  }, [graph, selected]);
  const status = useMemo(() => {
    const result = {};
    for (const node of graph.nodes) {
      const nodeStatus = statusOf(node.id);
      result[node.id] = nodeStatus === "pending" && runFinished ? "skipped" : nodeStatus;
    }
    return result;
  }, [graph, statusOf, runFinished]);
  const edges = useMemo(
    () =>
      graph.edges.map((edge) => {
        const state = edgeState(edge, (id) => status[id], runFinished);
        return { ...edge, className: `edge-${state}`, animated: state === "taken" && !runFinished, label: edge.sourceHandle || undefined };
      }),
    [graph, status, runFinished],
  );
  const decorations = useMemo(() => ({ errors: {}, status, diff: {} }), [status]);

  const waitingForMe = inbox.filter((approval) => approval.status === "pending");
  const selectedNode = graph.nodes.find((node) => node.id === selected);
  // The monitor's problem list: each failed step's error, one entry per node (its latest attempt).
  const failures = useMemo(() => {
    const latest = {};
    for (const step of detail?.steps || []) if (step.status === "failed") latest[step.node_id] = step;
    return Object.values(latest).map((step) => ({ node_id: step.node_id, message: step.error || "failed" }));
  }, [detail]);

  const cancel = async () => {
    try {
      await api(`executions/${encodeURIComponent(executionId)}/cancel`, { method: "POST" });
      setNotice({ kind: "info", text: "Cancellation requested." });
    } catch (error) {
      setNotice({ kind: "error", text: `Not cancelled: ${error.message}` });
    }
  };

  return (
    <div className="console monitor-page">
      <TopBar title="Run monitor">
        <span className="run-title">
          <a href={pageUrl(`/workflows/${config.workflow}/edit`)}>{config.workflow_name}</a> <span className="version-tag">v{config.version}</span>
        </span>
        <span className={`run-status status-${run.status}`} data-testid="run-status">
          {run.status}
        </span>
        <span className={`connection connection-${connection}`} title="live updates">
          ● {connection}
        </span>
        <a className="button" href={detail?.temporal?.ui_url || temporalUrl(executionId)} target="_blank" rel="noreferrer">
          Temporal UI
        </a>
        {config.can?.execute && !runFinished && (
          <button type="button" onClick={cancel}>
            Cancel run
          </button>
        )}
      </TopBar>
      {notice && (
        <div className={`notice notice-${notice.kind}`} role="status">
          {notice.text}
        </div>
      )}
      {waitingForMe.length > 0 && (
        <div className="approval-banner" data-testid="approval-banner">
          Waiting for your decision:
          {waitingForMe.map((approval) => (
            <button key={approval.id} type="button" onClick={() => setSelected(approval.node_id)}>
              {approval.node_id}
            </button>
          ))}
        </div>
      )}
      <div className="monitor-body">
        <div className="monitor-canvas">
          <GraphCanvas
            decorations={decorations}
            readOnly
            nodes={nodes}
            edges={edges}
            onNodeClick={(_, node) => setSelected(node.id)}
            onPaneClick={() => setSelected(null)}
            fitView
            fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }}
          />
          <Legend />
        </div>
        <aside className="sidebar">
          {selectedNode ? (
            <StepDetails
              node={selectedNode}
              status={status[selectedNode.id]}
              rows={(detail?.steps || []).filter((step) => step.node_id === selectedNode.id)}
              approval={inbox.find((item) => item.node_id === selectedNode.id)}
              live={liveApprovals[selectedNode.id]}
              onDecided={(text) => {
                setNotice({ kind: "info", text });
                refresh();
              }}
            />
          ) : (
            <RunSummary run={run} detail={detail} />
          )}
          <ProblemList title="Failed steps" empty="No step has failed." problems={failures} onSelect={(problem) => setSelected(problem.node_id)} />
        </aside>
      </div>
    </div>
  );
}

function Legend() {
  return (
    <div className="legend-box">
      {["pending", "running", "waiting", "completed", "failed", "skipped"].map((state) => (
        <span key={state} className={`legend-item status-${state}`}>
          <i /> {state === "waiting" ? "waiting for approval" : state}
        </span>
      ))}
      <span className="legend-item edge-taken-key">— taken</span>
      <span className="legend-item edge-skipped-key">┄ skipped</span>
    </div>
  );
}

function RunSummary({ run, detail }) {
  return (
    <div className="run-summary">
      <h3>Run</h3>
      <dl>
        <dt>Id</dt>
        <dd>
          <code>{config.execution}</code>
        </dd>
        <dt>Status</dt>
        <dd>{run.status}</dd>
        <dt>Started by</dt>
        <dd>{detail?.started_by || "—"}</dd>
        <dt>Created</dt>
        <dd>{formatTime(detail?.created_at)}</dd>
        <dt>Duration</dt>
        <dd>{duration(detail?.started_at, detail?.finished_at)}</dd>
      </dl>
      {run.error && <div className="field-problem">{run.error}</div>}
      <h4>Input</h4>
      <pre>{short(detail?.input)}</pre>
      <h4>Output</h4>
      <pre>{short(detail?.output)}</pre>
      <p className="hint">Click a node for its step: input, output, attempts, error and timings.</p>
    </div>
  );
}

function StepDetails({ node, status, rows, approval, live, onDecided }) {
  const spec = typeSpec(node.type);
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState("");
  const decide = async (decision) => {
    setBusy(true);
    setProblem("");
    try {
      await api(`approvals/${approval.id}/decide`, { method: "POST", body: { decision, comment } });
      setComment("");
      onDecided(`You ${decision === "approve" ? "approved" : "rejected"} ${node.id}.`);
    } catch (error) {
      setProblem(error.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="step-details" data-node-id={node.id}>
      <div className="node-form-head" style={{ "--node-color": spec?.color }}>
        <span className="wf-node-icon">{spec?.icon}</span>
        <div>
          <strong>{node.data?.label || node.id}</strong> <span className="hint">{spec?.label || canonicalType(node.type)}</span>
          <div className={`run-status status-${status}`}>{status === "waiting" ? "waiting for approval" : status}</div>
        </div>
      </div>
      {approval && approval.status === "pending" && (
        <div className="decide" data-testid="decide">
          <h4>Your decision</h4>
          {approval.message && <p>{approval.message}</p>}
          <p className="hint">
            Approvers: {approval.approvers.join(", ")} · quorum {String(approval.quorum)}
            {approval.deadline ? ` · until ${formatTime(approval.deadline)}` : ""}
          </p>
          <textarea rows={3} placeholder="Comment (optional)" value={comment} onChange={(event) => setComment(event.target.value)} aria-label="Comment" />
          <div className="row">
            <button type="button" className="primary" disabled={busy} onClick={() => decide("approve")}>
              Approve
            </button>
            <button type="button" className="danger" disabled={busy} onClick={() => decide("reject")}>
              Reject
            </button>
          </div>
          {problem && <div className="field-problem">{problem}</div>}
          {approval.decisions?.length > 0 && (
            <ul className="decisions">
              {approval.decisions.map((item, index) => (
                <li key={index}>
                  {item.user}: {item.decision} {item.comment && `— ${item.comment}`}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {!approval && live?.status === "pending" && <p className="hint">Waiting for an approver's decision.</p>}
      {rows.length === 0 ? (
        <p className="hint">No step recorded for this node yet.</p>
      ) : (
        rows.map((row, index) => (
          <div key={index} className="step-row">
            <dl>
              <dt>Status</dt>
              <dd>{row.status}</dd>
              <dt>Attempts</dt>
              <dd>{row.attempt}</dd>
              <dt>Started</dt>
              <dd>{formatTime(row.started_at)}</dd>
              <dt>Finished</dt>
              <dd>{formatTime(row.finished_at)}</dd>
              <dt>Took</dt>
              <dd>{duration(row.started_at, row.finished_at)}</dd>
            </dl>
            {row.error && <div className="field-problem">{row.error}</div>}
            <h4>Input</h4>
            <pre>{short(row.input)}</pre>
            <h4>Output</h4>
            <pre>{short(row.output)}</pre>
          </div>
        ))
      )}
    </div>
  );
}
