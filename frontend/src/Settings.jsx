import { useCallback, useEffect, useState } from "react";
import { api, config, formatTime } from "./api.js";
import TopBar from "./TopBar.jsx";

const ROLES = ["owner", "admin", "editor", "approver", "viewer"];
const KINDS = ["openai", "anthropic", "mistral", "openai_compatible"];

/** Loads `path` into state; `reload()` fetches again. */
function useList(path) {
  const [items, setItems] = useState([]);
  const [problem, setProblem] = useState("");
  const reload = useCallback(() => {
    api(path)
      .then((data) => {
        setItems(Array.isArray(data) ? data : data.results);
        setProblem("");
      })
      .catch((error) => setProblem(error.message));
  }, [path]);
  useEffect(reload, [reload]);
  return [items, reload, problem, setProblem];
}

async function attempt(setProblem, action) {
  try {
    await action();
    setProblem("");
    return true;
  } catch (error) {
    setProblem(error.message);
    return false;
  }
}

function Problem({ text }) {
  return text ? (
    <p className="field-problem" role="alert">
      {text}
    </p>
  ) : null;
}

function Members() {
  const [members, reload, problem, setProblem] = useList("members?limit=200");
  const [form, setForm] = useState({ username: "", role: "viewer" });
  const add = async (event) => {
    event.preventDefault();
    if (await attempt(setProblem, () => api("members", { method: "POST", body: form }))) {
      setForm({ username: "", role: "viewer" });
      reload();
    }
  };
  const setRole = (member, role) => attempt(setProblem, () => api(`members/${member.id}`, { method: "PATCH", body: { role } })).then(reload);
  const remove = (member) =>
    window.confirm(`Remove ${member.username} from ${config.tenant.name}?`) &&
    attempt(setProblem, () => api(`members/${member.id}`, { method: "DELETE" })).then(reload);
  return (
    <section className="panel" aria-labelledby="members-heading">
      <h2 id="members-heading">Members and roles</h2>
      <Problem text={problem} />
      <table className="runs" data-testid="members">
        <tbody>
          {members.map((member) => (
            <tr key={member.id} data-member={member.username}>
              <td>{member.username}</td>
              <td>
                <label className="sr-only" htmlFor={`role-${member.id}`}>
                  Role of {member.username}
                </label>
                <select id={`role-${member.id}`} value={member.role} onChange={(event) => setRole(member, event.target.value)}>
                  {ROLES.map((role) => (
                    <option key={role}>{role}</option>
                  ))}
                </select>
              </td>
              <td>
                <button type="button" className="danger" onClick={() => remove(member)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="filters" onSubmit={add} aria-label="Add a member">
        <label>
          Username
          <input value={form.username} onChange={(event) => setForm({ ...form, username: event.target.value })} required />
        </label>
        <label>
          Role
          <select value={form.role} onChange={(event) => setForm({ ...form, role: event.target.value })}>
            {ROLES.map((role) => (
              <option key={role}>{role}</option>
            ))}
          </select>
        </label>
        <button type="submit">Add member</button>
      </form>
    </section>
  );
}

function ApiKeys() {
  const [keys, reload, problem, setProblem] = useList("api-keys?limit=200");
  const [name, setName] = useState("");
  const [shown, setShown] = useState("");
  const create = async (event) => {
    event.preventDefault();
    await attempt(setProblem, async () => {
      const created = await api("api-keys", { method: "POST", body: { name } });
      setShown(created.key);
      setName("");
    });
    reload();
  };
  const revoke = (key) => window.confirm(`Revoke ${key.name}?`) && attempt(setProblem, () => api(`api-keys/${key.id}/revoke`, { method: "POST" })).then(reload);
  return (
    <section className="panel" aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <Problem text={problem} />
      {shown && (
        <div className="notice notice-info secret-once" role="status" data-testid="key-once">
          <span>
            New key (shown only now): <code>{shown}</code>
          </span>
          <button type="button" onClick={() => setShown("")}>
            Done
          </button>
        </div>
      )}
      <table className="runs" data-testid="api-keys">
        <tbody>
          {keys.map((key) => (
            <tr key={key.id}>
              <td>{key.name}</td>
              <td>
                <code>{key.prefix}…</code>
              </td>
              <td>{key.username}</td>
              <td>{key.revoked_at ? `revoked ${formatTime(key.revoked_at)}` : "active"}</td>
              <td>
                {!key.revoked_at && (
                  <button type="button" className="danger" onClick={() => revoke(key)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="filters" onSubmit={create} aria-label="New API key">
        <label>
          Key name
          <input value={name} onChange={(event) => setName(event.target.value)} required />
        </label>
        <button type="submit">Create key</button>
      </form>
    </section>
  );
}

function Retention() {
  const [tenant, setTenant] = useState(null);
  const [days, setDays] = useState("");
  const [problem, setProblem] = useState("");
  const [saved, setSaved] = useState("");
  useEffect(() => {
    api("tenant").then((data) => {
      setTenant(data);
      setDays(String(data.retention_days));
    });
  }, []);
  const save = async (event) => {
    event.preventDefault();
    if (await attempt(setProblem, async () => setTenant(await api("tenant", { method: "PATCH", body: { retention_days: Number(days) } }))))
      setSaved("Saved.");
  };
  return (
    <section className="panel" aria-labelledby="retention-heading">
      <h2 id="retention-heading">Retention</h2>
      <Problem text={problem} />
      <form className="filters" onSubmit={save}>
        <label>
          Keep run history (days)
          <input type="number" min="1" max="3650" value={days} onChange={(event) => setDays(event.target.value)} />
        </label>
        <button type="submit" disabled={!tenant}>
          Save retention
        </button>
        {saved && <span role="status">{saved}</span>}
      </form>
    </section>
  );
}

function Credentials() {
  const [credentials, reload, problem, setProblem] = useList("llm/credentials");
  const [form, setForm] = useState({ name: "", kind: "openai", api_key: "", base_url: "" });
  const save = async (event) => {
    event.preventDefault();
    if (await attempt(setProblem, () => api("llm/credentials", { method: "POST", body: form }))) {
      setForm({ name: "", kind: "openai", api_key: "", base_url: "" });
      reload();
    }
  };
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });
  return (
    <section className="panel" aria-labelledby="credentials-heading">
      <h2 id="credentials-heading">Provider credentials</h2>
      <p className="hint">Keys are write-only: once saved they are never shown again, only replaced.</p>
      <Problem text={problem} />
      <ul data-testid="credentials">
        {credentials.map((credential) => (
          <li key={credential.name}>
            {credential.name} ({credential.kind}){credential.base_url && ` · ${credential.base_url}`} · key set
          </li>
        ))}
      </ul>
      <form className="filters" onSubmit={save} aria-label="Save a provider key">
        <label>
          Name
          <input value={form.name} onChange={set("name")} required placeholder="openai" />
        </label>
        <label>
          Kind
          <select value={form.kind} onChange={set("kind")}>
            {KINDS.map((kind) => (
              <option key={kind}>{kind}</option>
            ))}
          </select>
        </label>
        <label>
          API key
          <input type="password" autoComplete="off" value={form.api_key} onChange={set("api_key")} required />
        </label>
        <label>
          Base URL (optional)
          <input value={form.base_url} onChange={set("base_url")} />
        </label>
        <button type="submit">Save key</button>
      </form>
    </section>
  );
}

function Limits() {
  const [limits, reload, problem, setProblem] = useList("llm/limits");
  const [form, setForm] = useState({ provider: "", requests_per_minute: "", tokens_per_minute: "", monthly_budget: "" });
  const numberOrNull = (value) => (value === "" ? null : value);
  const save = async (event) => {
    event.preventDefault();
    const body = {
      provider: form.provider,
      requests_per_minute: numberOrNull(form.requests_per_minute),
      tokens_per_minute: numberOrNull(form.tokens_per_minute),
      monthly_budget: numberOrNull(form.monthly_budget),
    };
    if (await attempt(setProblem, () => api("llm/limits", { method: "PUT", body }))) reload();
  };
  const remove = (limit) =>
    attempt(setProblem, () => api(`llm/limits?provider=${encodeURIComponent(limit.provider)}`, { method: "DELETE" })).then(reload);
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });
  return (
    <section className="panel" aria-labelledby="limits-heading">
      <h2 id="limits-heading">LLM limits and budgets</h2>
      <Problem text={problem} />
      <table className="runs" data-testid="limits">
        <thead>
          <tr>
            <th>Provider</th>
            <th>Requests/min</th>
            <th>Tokens/min</th>
            <th>Monthly budget</th>
            <th>Spent ({limits[0]?.month || "this month"})</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {limits.map((limit) => (
            <tr key={limit.provider || "*"}>
              <td>{limit.provider || "all providers"}</td>
              <td>{limit.requests_per_minute ?? "∞"}</td>
              <td>{limit.tokens_per_minute ?? "∞"}</td>
              <td>{limit.monthly_budget ?? "∞"}</td>
              <td>{limit.spent}</td>
              <td>
                <button type="button" className="danger" onClick={() => remove(limit)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="filters" onSubmit={save} aria-label="Set limits">
        <label>
          Provider (blank: all)
          <input value={form.provider} onChange={set("provider")} />
        </label>
        <label>
          Requests/min
          <input type="number" min="1" value={form.requests_per_minute} onChange={set("requests_per_minute")} />
        </label>
        <label>
          Tokens/min
          <input type="number" min="1" value={form.tokens_per_minute} onChange={set("tokens_per_minute")} />
        </label>
        <label>
          Monthly budget (USD)
          <input type="number" min="0" step="0.0001" value={form.monthly_budget} onChange={set("monthly_budget")} />
        </label>
        <button type="submit">Save limits</button>
      </form>
    </section>
  );
}

function EmailTemplates() {
  const [templates, reload, problem, setProblem] = useList("email-templates?limit=200");
  const [form, setForm] = useState({ name: "", subject: "", body: "" });
  const save = async (event) => {
    event.preventDefault();
    if (await attempt(setProblem, () => api("email-templates", { method: "POST", body: form }))) {
      setForm({ name: "", subject: "", body: "" });
      reload();
    }
  };
  const remove = (template) =>
    window.confirm(`Delete the template ${template.name}?`) &&
    attempt(setProblem, () => api(`email-templates/${template.id}`, { method: "DELETE" })).then(reload);
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });
  return (
    <section className="panel" aria-labelledby="templates-heading">
      <h2 id="templates-heading">E-mail templates</h2>
      <p className="hint">An EmailNode sends one by name; subject and body are templates over the run's input and steps.</p>
      <Problem text={problem} />
      <ul data-testid="email-templates">
        {templates.map((template) => (
          <li key={template.id}>
            <button type="button" className="link" onClick={() => setForm({ name: template.name, subject: template.subject, body: template.body })}>
              {template.name}
            </button>{" "}
            · {template.subject}{" "}
            <button type="button" className="danger" onClick={() => remove(template)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={save} aria-label="Save an e-mail template" className="template-form">
        <label>
          Template name
          <input value={form.name} onChange={set("name")} required />
        </label>
        <label>
          Subject
          <input value={form.subject} onChange={set("subject")} required />
        </label>
        <label>
          Body
          <textarea rows={4} value={form.body} onChange={set("body")} required />
        </label>
        <button type="submit">Save template</button>
      </form>
    </section>
  );
}

/** Tenant settings for owners and admins. */
export default function Settings() {
  return (
    <div className="console list-page">
      <TopBar title={`Settings · ${config.tenant.name}`} />
      <main className="list-main settings-grid">
        <Members />
        <ApiKeys />
        <Retention />
        <Credentials />
        <Limits />
        <EmailTemplates />
      </main>
    </div>
  );
}
