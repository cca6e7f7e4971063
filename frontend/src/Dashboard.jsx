import { useCallback, useEffect, useRef, useState } from "react";
import { api, config, formatTime, liveStream, pageUrl, temporalUrl } from "./api.js";
import TopBar from "./TopBar.jsx";

const STATUSES = ["pending", "running", "completed", "failed", "rejected", "cancelled"];
const RECENT = 20;

export default function Dashboard() {
  const [counts, setCounts] = useState(config.counts || {});
  const [runs, setRuns] = useState([]);
  const [approvals, setApprovals] = useState([]);
  const [workflows, setWorkflows] = useState([]);
  const [connection, setConnection] = useState("connecting");
  const [problem, setProblem] = useState("");
  const known = useRef({}); // run id -> status, as counted
  const timer = useRef(null);

  const loadApprovals = useCallback(async () => {
    if (!config.can?.approve) return;
    const page = await api("approvals?status=pending&limit=50");
    setApprovals(page.results || []);
  }, []);

  useEffect(() => {
    (async () => {
      try {
        const [recent, definitions] = await Promise.all([api(`executions?limit=${RECENT}`), api("workflows?limit=50")]);
        for (const run of recent.results) known.current[run.id] ??= run.status;
        setRuns(recent.results);
        setWorkflows(definitions.results || []);
        await loadApprovals();
      } catch (error) {
        setProblem(error.message);
      }
    })();
  }, [loadApprovals]);

  useEffect(() => {
    const onMessage = (message) => {
      if (message.kind === "snapshot") {
        for (const run of message.executions) {
          known.current[run.execution_id] ??= run.status;
          upsert(run.execution_id, { status: run.status, workflow_slug: run.workflow, created_at: run.created_at });
        }
        return;
      }
      if (!message.kind.startsWith("execution.")) return;
      const before = known.current[message.execution_id];
      if (before !== message.status) {
        setCounts((current) => {
          const next = { ...current, [message.status]: (current[message.status] || 0) + 1 };
          if (before) next[before] = Math.max(0, (next[before] || 0) - 1);
          return next;
        });
        known.current[message.execution_id] = message.status;
      }
      upsert(message.execution_id, { status: message.status, workflow_slug: message.workflow });
      clearTimeout(timer.current);
      timer.current = setTimeout(() => loadApprovals().catch(() => {}), 300);
    };
    const upsert = (id, patch) =>
      setRuns((current) => {
        const index = current.findIndex((run) => run.id === id);
        if (index === -1) return [{ id, created_at: new Date().toISOString(), ...patch }, ...current].slice(0, RECENT);
        const next = [...current];
        next[index] = { ...next[index], status: patch.status };
        return next;
      });
    return liveStream(`/ws/tenants/${encodeURIComponent(config.tenant.slug)}/executions/`, onMessage, setConnection);
  }, [loadApprovals]);

  const workflowName = (run) => {
    const definition = workflows.find((item) => item.id === run.workflow || item.slug === run.workflow_slug);
    return definition ? definition.name : run.workflow_slug || `#${run.workflow}`;
  };

  return (
    <div className="console dashboard-page">
      <TopBar title={`Dashboard · ${config.tenant.name}`}>
        <span className={`connection connection-${connection}`} title="live updates">
          ● {connection}
        </span>
      </TopBar>
      {problem && <div className="notice notice-error">{problem}</div>}
      <main className="dashboard">
        <section className="counts" aria-label="Runs by status">
          {STATUSES.map((status) => (
            <div key={status} className={`count-card status-${status}`} data-status={status}>
              <span className="count">{counts[status] || 0}</span>
              <span>{status}</span>
            </div>
          ))}
        </section>
        <div className="dashboard-columns">
          <section className="panel runs-panel">
            <h2>Recent runs</h2>
            <table className="runs">
              <thead>
                <tr>
                  <th>Run</th>
                  <th>Workflow</th>
                  <th>Status</th>
                  <th>Created</th>
                  <th>Temporal</th>
                </tr>
              </thead>
              <tbody>
                {runs.length === 0 && (
                  <tr>
                    <td colSpan={5} className="hint">
                      No runs yet.
                    </td>
                  </tr>
                )}
                {runs.map((run) => (
                  <tr key={run.id} data-run={run.id}>
                    <td>
                      <a href={pageUrl(`/executions/${run.id}/`)}>
                        <code>{run.id.replace("execution-", "").slice(0, 10)}</code>
                      </a>
                    </td>
                    <td>{workflowName(run)}</td>
                    <td>
                      <span className={`run-status status-${run.status}`}>{run.status}</span>
                    </td>
                    <td>{formatTime(run.created_at)}</td>
                    <td>
                      <a href={run.temporal?.ui_url || temporalUrl(run.id)} target="_blank" rel="noreferrer">
                        open ↗
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <div className="dashboard-side">
            <section className="panel">
              <h2>Waiting for you ({approvals.length})</h2>
              {approvals.length === 0 ? (
                <p className="hint">No approvals pending for you.</p>
              ) : (
                <ul className="approvals">
                  {approvals.map((approval) => (
                    <li key={approval.id}>
                      <a href={pageUrl(`/executions/${approval.execution}/`)}>{approval.message || approval.node_id}</a>
                      <div className="hint">
                        {approval.node_id} · {formatTime(approval.created_at)}
                      </div>
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section className="panel">
              <h2>Workflows</h2>
              {config.can?.edit && (
                <a className="button primary" href={pageUrl("/workflows/new")}>
                  + New workflow
                </a>
              )}
              <ul className="workflows">
                {workflows.map((definition) => (
                  <li key={definition.id}>
                    <a href={pageUrl(`/workflows/${definition.id}/edit`)}>{definition.name}</a>
                    <span className="hint">
                      {" "}
                      v{definition.latest_version} · {definition.status}
                    </span>
                  </li>
                ))}
              </ul>
            </section>
          </div>
        </div>
      </main>
    </div>
  );
}
