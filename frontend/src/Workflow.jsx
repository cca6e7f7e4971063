import { useCallback, useEffect, useState } from "react";
import { api, ApiError, config, formatTime, pageUrl } from "./api.js";
import { RunsTable } from "./Runs.jsx";
import TopBar from "./TopBar.jsx";

function Schedule({ workflowId }) {
  const [schedule, setSchedule] = useState(undefined);
  const [problem, setProblem] = useState("");
  const load = useCallback(() => {
    api(`workflows/${workflowId}/schedule`)
      .then(setSchedule)
      .catch((error) => (error instanceof ApiError && error.status === 404 ? setSchedule(null) : setProblem(error.message)));
  }, [workflowId]);
  useEffect(load, [load]);
  const toggle = async () => {
    try {
      setSchedule(await api(`workflows/${workflowId}/schedule/${schedule.paused ? "resume" : "pause"}`, { method: "POST" }));
    } catch (error) {
      setProblem(error.message);
    }
  };
  return (
    <section className="panel" aria-labelledby="schedule-heading">
      <h2 id="schedule-heading">Schedule</h2>
      {problem && <p className="field-problem">{problem}</p>}
      {schedule === null && <p className="hint">No schedule: this workflow starts by hand, API or webhook.</p>}
      {schedule && (
        <>
          <p data-testid="schedule">
            <code>{schedule.cron}</code> ({schedule.timezone}) · {schedule.paused ? "paused" : "active"} · {schedule.fires} fires
          </p>
          {schedule.next_fire_times?.length > 0 && <p className="hint">Next: {schedule.next_fire_times.slice(0, 3).map(formatTime).join(", ")}</p>}
          {config.can?.execute && (
            <button type="button" onClick={toggle}>
              {schedule.paused ? "Resume schedule" : "Pause schedule"}
            </button>
          )}
        </>
      )}
    </section>
  );
}

/** One workflow: its versions, its runs and its schedule. */
export default function Workflow() {
  const workflowId = config.workflow;
  const [workflow, setWorkflow] = useState(null);
  const [versions, setVersions] = useState([]);
  const [problem, setProblem] = useState("");
  useEffect(() => {
    Promise.all([api(`workflows/${workflowId}`), api(`workflows/${workflowId}/versions?limit=50`)])
      .then(([detail, page]) => {
        setWorkflow(detail);
        setVersions(page.results);
      })
      .catch((error) => setProblem(error.message));
  }, [workflowId]);

  return (
    <div className="console list-page">
      <TopBar title={`Workflow · ${config.workflow_name}`}>
        <a className="button" href={pageUrl(`/workflows/${workflowId}/edit`)}>
          {config.can?.edit ? "Edit" : "View graph"}
        </a>
      </TopBar>
      {problem && <div className="notice notice-error">{problem}</div>}
      <main className="list-main workflow-main">
        <section className="panel" aria-labelledby="about-heading">
          <h2 id="about-heading">{config.workflow_name}</h2>
          {workflow && (
            <p>
              {workflow.status} · v{workflow.latest_version}
              {(workflow.tags || []).map((tag) => (
                <span key={tag} className="tag">
                  {" "}
                  {tag}
                </span>
              ))}
            </p>
          )}
          {workflow?.description && <p className="hint">{workflow.description}</p>}
          <h3>Versions</h3>
          <ul className="versions" data-testid="versions">
            {versions.map((version) => (
              <li key={version.number}>
                v{version.number} · {version.author || "—"} · {formatTime(version.created_at)}
              </li>
            ))}
          </ul>
        </section>
        <Schedule workflowId={workflowId} />
        <RunsTable fixed={{ workflow: String(workflowId) }} workflows={workflow ? [workflow] : []} />
      </main>
    </div>
  );
}
