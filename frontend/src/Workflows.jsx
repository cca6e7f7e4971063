import { useEffect, useState } from "react";
import { api, config, formatTime, pageUrl } from "./api.js";
import TopBar from "./TopBar.jsx";

const STATUSES = ["draft", "published", "archived"];

/** Every workflow of the tenant: search by name, filter by status and tag. */
export default function Workflows() {
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("");
  const [tag, setTag] = useState("");
  const [workflows, setWorkflows] = useState(null);
  const [problem, setProblem] = useState("");

  useEffect(() => {
    const params = new URLSearchParams({ limit: "200" });
    if (search) params.set("name", search);
    if (status) params.set("status", status);
    if (tag) params.set("tag", tag);
    const timer = setTimeout(() => {
      api(`workflows/?${params}`)
        .then((page) => {
          setWorkflows(page.results);
          setProblem("");
        })
        .catch((error) => setProblem(error.message));
    }, 150);
    return () => clearTimeout(timer);
  }, [search, status, tag]);

  return (
    <div className="console list-page">
      <TopBar title={`Workflows · ${config.tenant.name}`} />
      <main className="list-main">
        <section className="panel" aria-labelledby="workflows-heading">
          <h2 id="workflows-heading">Workflows</h2>
          <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label="Find workflows">
            <label>
              Search
              <input type="search" value={search} onChange={(event) => setSearch(event.target.value)} placeholder="name" />
            </label>
            <label>
              Status
              <select value={status} onChange={(event) => setStatus(event.target.value)}>
                <option value="">active (draft or published)</option>
                {STATUSES.map((item) => (
                  <option key={item}>{item}</option>
                ))}
              </select>
            </label>
            <label>
              Tag
              <input value={tag} onChange={(event) => setTag(event.target.value.trim().toLowerCase())} placeholder="e.g. finance" />
            </label>
            {config.can?.edit && (
              <a className="button primary" href={pageUrl("/workflows/new")}>
                + New workflow
              </a>
            )}
          </form>
          {problem && (
            <p className="field-problem" role="alert">
              {problem}
            </p>
          )}
          <div className="table-scroll">
            <table className="runs" data-testid="workflows-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Status</th>
                  <th>Tags</th>
                  <th>Version</th>
                  <th>Updated</th>
                </tr>
              </thead>
              <tbody>
                {workflows && workflows.length === 0 && (
                  <tr>
                    <td colSpan={5} className="hint">
                      No workflows match.
                    </td>
                  </tr>
                )}
                {(workflows || []).map((workflow) => (
                  <tr key={workflow.id} data-workflow={workflow.id}>
                    <td>
                      <a href={pageUrl(`/workflows/${workflow.id}/`)}>{workflow.name}</a>
                    </td>
                    <td>{workflow.status}</td>
                    <td>
                      {(workflow.tags || []).map((item) => (
                        <button type="button" key={item} className="tag" onClick={() => setTag(item)} title={`Only ${item}`}>
                          {item}
                        </button>
                      ))}
                    </td>
                    <td>v{workflow.latest_version}</td>
                    <td>{formatTime(workflow.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </main>
    </div>
  );
}
