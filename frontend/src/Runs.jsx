import { useCallback, useEffect, useMemo, useState } from "react";
import { api, config, formatTime, duration, nextPath, pageUrl } from "./api.js";
import TopBar from "./TopBar.jsx";

const STATUSES = ["pending", "running", "waiting", "completed", "failed", "rejected", "cancelled"];
const TRIGGERS = ["manual", "schedule", "webhook"];
const FINISHED = new Set(["completed", "failed", "rejected", "cancelled"]);
const FILTERS = ["workflow", "status", "started_by", "trigger", "from", "to"];

function filtersFromLocation(fixed) {
  const params = new URLSearchParams(window.location.search);
  const filters = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) || ""]));
  return { ...filters, ...fixed };
}

/** The API query for the filters: dates are whole days in the viewer's time zone. */
function query(filters) {
  const params = new URLSearchParams({ cursor: "", limit: "25" });
  for (const name of ["workflow", "status", "started_by", "trigger"]) if (filters[name]) params.set(name, filters[name]);
  if (filters.from) params.set("created_after", new Date(`${filters.from}T00:00:00`).toISOString());
  if (filters.to) {
    const end = new Date(`${filters.to}T00:00:00`);
    end.setDate(end.getDate() + 1);
    params.set("created_before", end.toISOString());
  }
  return `executions/?${params}`;
}

/** The runs table with filters, cursor pages, bulk cancel and re-run; `fixed` pins filters
 * (the workflow page shows one workflow's runs). */
export function RunsTable({ fixed = {}, workflows = [] }) {
  const [filters, setFilters] = useState(() => filtersFromLocation(fixed));
  const [runs, setRuns] = useState([]);
  const [next, setNext] = useState(null);
  const [selected, setSelected] = useState(new Set());
  const [problem, setProblem] = useState("");
  const [notice, setNotice] = useState("");
  const [loading, setLoading] = useState(false);
  const canExecute = Boolean(config.can?.execute);

  const load = useCallback(async (path, append) => {
    setLoading(true);
    setProblem("");
    try {
      const page = await api(path);
      setRuns((current) => (append ? [...current, ...page.results] : page.results));
      setNext(page.next ? nextPath(page.next) : null);
    } catch (error) {
      setProblem(error.message);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    load(query(filters), false);
    setSelected(new Set());
    if (!Object.keys(fixed).length) {
      const params = new URLSearchParams();
      for (const name of FILTERS) if (filters[name]) params.set(name, filters[name]);
      if (config.tenant_param) params.set("tenant", config.tenant_param);
      const search = params.toString();
      window.history.replaceState(null, "", `${window.location.pathname}${search ? `?${search}` : ""}`);
    }
  }, [filters, load]); // eslint-disable-line react-hooks/exhaustive-deps

  const names = useMemo(() => Object.fromEntries(workflows.map((w) => [String(w.id), w.name])), [workflows]);
  const set = (name) => (event) => setFilters((current) => ({ ...current, [name]: event.target.value }));
  const toggle = (id) =>
    setSelected((current) => {
      const copy = new Set(current);
      copy.has(id) ? copy.delete(id) : copy.add(id);
      return copy;
    });

  const cancelSelected = async () => {
    const ids = [...selected];
    const results = await Promise.allSettled(ids.map((id) => api(`executions/${encodeURIComponent(id)}/cancel`, { method: "POST" })));
    const failed = results.filter((result) => result.status === "rejected");
    setNotice(`Cancel requested for ${ids.length - failed.length} run(s)${failed.length ? `; ${failed.length} refused: ${failed[0].reason.message}` : ""}.`);
    setSelected(new Set());
    load(query(filters), false);
  };

  const rerun = async (run) => {
    try {
      const started = await api(`workflows/${run.workflow}/execute`, { method: "POST", body: { input: run.input || {} } });
      window.location.href = pageUrl(`/executions/${started.id}/`);
    } catch (error) {
      setProblem(`Re-run refused: ${error.message}`);
    }
  };

  return (
    <section className="panel runs-page-panel" aria-labelledby="runs-heading">
      <h2 id="runs-heading">Runs</h2>
      <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label="Filter runs">
        {!fixed.workflow && (
          <label>
            Workflow
            <select value={filters.workflow} onChange={set("workflow")} name="workflow">
              <option value="">all</option>
              {workflows.map((workflow) => (
                <option key={workflow.id} value={workflow.id}>
                  {workflow.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Status
          <select value={filters.status} onChange={set("status")} name="status">
            <option value="">all</option>
            {STATUSES.map((status) => (
              <option key={status}>{status}</option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={filters.from} onChange={set("from")} name="from" />
        </label>
        <label>
          To
          <input type="date" value={filters.to} onChange={set("to")} name="to" />
        </label>
        <label>
          Started by
          <input value={filters.started_by} onChange={set("started_by")} name="started_by" placeholder="username" />
        </label>
        <label>
          Trigger
          <select value={filters.trigger} onChange={set("trigger")} name="trigger">
            <option value="">all</option>
            {TRIGGERS.map((trigger) => (
              <option key={trigger}>{trigger}</option>
            ))}
          </select>
        </label>
      </form>
      {problem && (
        <p className="field-problem" role="alert">
          {problem}
        </p>
      )}
      {notice && <p role="status">{notice}</p>}
      {canExecute && (
        <div className="bulk">
          <button type="button" className="danger" disabled={!selected.size} onClick={cancelSelected}>
            Cancel selected ({selected.size})
          </button>
        </div>
      )}
      <div className="table-scroll">
        <table className="runs" data-testid="runs-table">
          <thead>
            <tr>
              {canExecute && <th aria-label="Select" />}
              <th>Run</th>
              <th>Workflow</th>
              <th>Status</th>
              <th>Trigger</th>
              <th>Started by</th>
              <th>Created</th>
              <th>Took</th>
              {canExecute && <th aria-label="Actions" />}
            </tr>
          </thead>
          <tbody>
            {!loading && runs.length === 0 && (
              <tr>
                <td colSpan={9} className="hint">
                  No runs match.
                </td>
              </tr>
            )}
            {runs.map((run) => (
              <tr key={run.id} data-run={run.id}>
                {canExecute && (
                  <td>
                    {!FINISHED.has(run.status) && (
                      <input
                        type="checkbox"
                        aria-label={`Select ${run.id}`}
                        checked={selected.has(run.id)}
                        onChange={() => toggle(run.id)}
                      />
                    )}
                  </td>
                )}
                <td>
                  <a href={pageUrl(`/executions/${run.id}/`)}>
                    <code>{run.id.length > 24 ? `${run.id.slice(0, 22)}…` : run.id}</code>
                  </a>
                </td>
                <td>
                  <a href={pageUrl(`/workflows/${run.workflow}/`)}>{names[String(run.workflow)] || `#${run.workflow}`}</a> v
                  {run.version}
                </td>
                <td>
                  <span className={`run-status status-${run.status}`}>{run.status}</span>
                </td>
                <td>{run.trigger}</td>
                <td>{run.started_by || "—"}</td>
                <td>{formatTime(run.created_at)}</td>
                <td>{run.started_at ? duration(run.started_at, run.finished_at) : "—"}</td>
                {canExecute && (
                  <td>
                    <button type="button" onClick={() => rerun(run)} title="Start the workflow again with this run's input">
                      Re-run
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {next && (
        <button type="button" onClick={() => load(next, true)} disabled={loading}>
          Load more
        </button>
      )}
    </section>
  );
}

export default function Runs() {
  const [workflows, setWorkflows] = useState([]);
  useEffect(() => {
    api("workflows/?limit=200")
      .then((page) => setWorkflows(page.results))
      .catch(() => setWorkflows([]));
  }, []);
  return (
    <div className="console list-page">
      <TopBar title={`Runs · ${config.tenant.name}`} />
      <main className="list-main">
        <RunsTable workflows={workflows} />
      </main>
    </div>
  );
}
