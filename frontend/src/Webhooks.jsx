import { useCallback, useEffect, useState } from "react";
import { api, config, formatTime, pageUrl } from "./api.js";
import TopBar from "./TopBar.jsx";

/** A secret shown once, with a copy button; gone when dismissed or the page is left. */
function SecretOnce({ secret, onDone }) {
  if (!secret) return null;
  return (
    <div className="notice notice-info secret-once" role="status" data-testid="secret-once">
      <span>
        Signing secret (shown only now — store it): <code>{secret}</code>
      </span>
      <span>
        <button type="button" onClick={() => navigator.clipboard?.writeText(secret)}>
          Copy
        </button>{" "}
        <button type="button" onClick={onDone}>
          Done
        </button>
      </span>
    </div>
  );
}

function CopyField({ label, value }) {
  const id = `copy-${label.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div>
        <input id={id} readOnly value={value} onFocus={(event) => event.target.select()} />
        <button type="button" onClick={() => navigator.clipboard?.writeText(value)}>
          Copy
        </button>
      </div>
    </div>
  );
}

function EventLog({ integrationId }) {
  const [events, setEvents] = useState([]);
  const [open, setOpen] = useState(null);
  const [notice, setNotice] = useState("");
  const load = useCallback(() => {
    api(`webhooks/logs?integration=${integrationId}&limit=50`)
      .then((page) => setEvents(page.results))
      .catch((error) => setNotice(error.message));
  }, [integrationId]);
  useEffect(load, [load]);
  const show = async (event) => setOpen(open?.id === event.id ? null : await api(`webhooks/logs/${event.id}`));
  const replay = async (event) => {
    try {
      const run = await api(`webhooks/logs/${event.id}/replay`, { method: "POST" });
      setNotice(`Replayed as run ${run.id}.`);
      load();
    } catch (error) {
      setNotice(`Replay refused: ${error.message}`);
    }
  };
  return (
    <section className="panel" aria-labelledby="log-heading">
      <h2 id="log-heading">Deliveries</h2>
      {notice && <p role="status">{notice}</p>}
      <div className="table-scroll">
        <table className="runs" data-testid="deliveries">
          <thead>
            <tr>
              <th>Received</th>
              <th>Event</th>
              <th>Status</th>
              <th>Run</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {events.length === 0 && (
              <tr>
                <td colSpan={5} className="hint">
                  No deliveries yet.
                </td>
              </tr>
            )}
            {events.map((event) => (
              <tr key={event.id} data-event={event.id}>
                <td>{formatTime(event.received_at)}</td>
                <td>
                  <code>{event.event_id}</code> {event.event_type}
                </td>
                <td>
                  <span className={`run-status status-${event.status}`}>{event.status}</span>
                  {event.error && <div className="field-problem">{event.error}</div>}
                </td>
                <td>{event.execution ? <a href={pageUrl(`/executions/${event.execution.id}/`)}>{event.execution.status}</a> : "—"}</td>
                <td>
                  <button type="button" onClick={() => show(event)} aria-expanded={open?.id === event.id}>
                    Payload
                  </button>{" "}
                  {config.can?.execute && (
                    <button type="button" onClick={() => replay(event)}>
                      Replay
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open && (
        <div className="payload" data-testid="payload">
          <h3>Payload of {open.event_id}</h3>
          <pre>{typeof open.body === "string" ? open.body : JSON.stringify(open.body, null, 2)}</pre>
        </div>
      )}
    </section>
  );
}

function IntegrationDetail({ integrationId }) {
  const [integration, setIntegration] = useState(null);
  const [secret, setSecret] = useState("");
  const [problem, setProblem] = useState("");
  useEffect(() => {
    api(`webhooks/integrations/${integrationId}`).then(setIntegration).catch((error) => setProblem(error.message));
  }, [integrationId]);
  const rotate = async () => {
    if (!window.confirm("Make a new secret? The current one keeps verifying for 24 hours.")) return;
    try {
      const rotated = await api(`webhooks/integrations/${integrationId}/rotate-secret`, { method: "POST", body: {} });
      setSecret(rotated.secret);
      setIntegration(rotated);
    } catch (error) {
      setProblem(error.message);
    }
  };
  return (
    <>
      <SecretOnce secret={secret} onDone={() => setSecret("")} />
      {problem && <div className="notice notice-error">{problem}</div>}
      <main className="list-main">
        {integration && (
          <section className="panel" aria-labelledby="integration-heading">
            <h2 id="integration-heading">{integration.name}</h2>
            <p>
              {integration.enabled ? "enabled" : "disabled"} · starts{" "}
              <a href={pageUrl(`/workflows/${integration.workflow}/`)}>workflow #{integration.workflow}</a>
              {integration.previous_secret_expires_at && <> · previous secret verifies until {formatTime(integration.previous_secret_expires_at)}</>}
            </p>
            <CopyField label="Endpoint URL" value={integration.url} />
            {config.can?.edit && (
              <button type="button" onClick={rotate}>
                Rotate secret
              </button>
            )}
          </section>
        )}
        <EventLog integrationId={integrationId} />
      </main>
    </>
  );
}

function IntegrationList() {
  const [integrations, setIntegrations] = useState([]);
  const [workflows, setWorkflows] = useState([]);
  const [form, setForm] = useState({ name: "", workflow: "" });
  const [secret, setSecret] = useState("");
  const [problem, setProblem] = useState("");
  const load = useCallback(() => {
    api("webhooks/integrations?limit=200").then((page) => setIntegrations(page.results)).catch((error) => setProblem(error.message));
  }, []);
  useEffect(() => {
    load();
    if (config.can?.edit) api("workflows/?limit=200").then((page) => setWorkflows(page.results));
  }, [load]);
  const create = async (event) => {
    event.preventDefault();
    try {
      const created = await api("webhooks/integrations", { method: "POST", body: { name: form.name, workflow: Number(form.workflow) } });
      setSecret(created.secret);
      setForm({ name: "", workflow: "" });
      setProblem("");
      load();
    } catch (error) {
      setProblem(error.message);
    }
  };
  return (
    <>
      <SecretOnce secret={secret} onDone={() => setSecret("")} />
      <main className="list-main">
        <section className="panel" aria-labelledby="integrations-heading">
          <h2 id="integrations-heading">Integrations</h2>
          {problem && (
            <p className="field-problem" role="alert">
              {problem}
            </p>
          )}
          <div className="table-scroll">
            <table className="runs" data-testid="integrations">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Endpoint</th>
                  <th>Enabled</th>
                </tr>
              </thead>
              <tbody>
                {integrations.map((integration) => (
                  <tr key={integration.id} data-integration={integration.id}>
                    <td>
                      <a href={pageUrl(`/webhooks/${integration.id}/`)}>{integration.name}</a>
                    </td>
                    <td>
                      <code>{integration.url}</code>
                    </td>
                    <td>{integration.enabled ? "yes" : "no"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {config.can?.edit && (
            <form className="filters" onSubmit={create} aria-label="New integration">
              <label>
                Name
                <input value={form.name} onChange={(event) => setForm({ ...form, name: event.target.value })} required />
              </label>
              <label>
                Starts workflow
                <select value={form.workflow} onChange={(event) => setForm({ ...form, workflow: event.target.value })} required>
                  <option value="">choose…</option>
                  {workflows.map((workflow) => (
                    <option key={workflow.id} value={workflow.id}>
                      {workflow.name}
                    </option>
                  ))}
                </select>
              </label>
              <button type="submit" className="primary">
                Create integration
              </button>
            </form>
          )}
        </section>
      </main>
    </>
  );
}

/** Inbound webhooks: integrations (create, rotate the secret, copy the URL) and their deliveries. */
export default function Webhooks() {
  return (
    <div className="console list-page">
      <TopBar title={`Webhooks · ${config.tenant.name}`} />
      {config.integration ? <IntegrationDetail integrationId={config.integration} /> : <IntegrationList />}
    </div>
  );
}
