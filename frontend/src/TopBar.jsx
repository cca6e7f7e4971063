import { config, csrfToken, pageUrl } from "./api.js";

/** The tenant switcher: a plain form (works without scripts' help, keyboard first). */
function TenantSwitcher() {
  const tenants = config.tenants || [];
  if (tenants.length < 2) return null;
  return (
    <form className="tenant-switch" method="post" action={config.urls?.tenant_switch}>
      <input type="hidden" name="csrfmiddlewaretoken" value={csrfToken()} />
      <label htmlFor="tenant-switch-select" className="sr-only">
        Tenant
      </label>
      <select id="tenant-switch-select" name="tenant" defaultValue={config.tenant?.slug}>
        {tenants.map((tenant) => (
          <option key={tenant.slug} value={tenant.slug}>
            {tenant.name} ({tenant.role})
          </option>
        ))}
      </select>
      <button type="submit">Switch</button>
    </form>
  );
}

export default function TopBar({ title, children }) {
  return (
    <header className="topbar">
      <a className="brand" href={pageUrl(config.urls?.dashboard || "/")}>
        Mono
      </a>
      <span className="page-title">{title}</span>
      <div className="topbar-main">{children}</div>
      <nav className="topbar-nav" aria-label="Console">
        <a href={pageUrl(config.urls?.dashboard || "/")}>Dashboard</a>
        <a href={pageUrl(config.urls?.workflows || "/workflows/")}>Workflows</a>
        <a href={pageUrl(config.urls?.runs || "/runs/")}>Runs</a>
        <a href={pageUrl(config.urls?.usage || "/usage/")}>Usage</a>
        <a href={pageUrl(config.urls?.webhooks || "/webhooks/")}>Webhooks</a>
        <a href={pageUrl(config.urls?.media || "/media/")}>Media</a>
        {config.can?.manage && <a href={pageUrl(config.urls?.settings || "/settings/")}>Settings</a>}
        {config.can?.approve && <a href={pageUrl(config.urls?.inbox || "/inbox/")}>Inbox</a>}
        {config.can?.edit && <a href={pageUrl(config.urls?.new_workflow || "/workflows/new")}>New workflow</a>}
        <TenantSwitcher />
        <span className="who" title={`role: ${config.role}`}>
          {config.user} · {config.tenant?.name} · {config.role}
        </span>
        <a href={config.urls?.password_change}>Password</a>
        <form method="post" action={config.urls?.logout} className="logout">
          <input type="hidden" name="csrfmiddlewaretoken" value={csrfToken()} />
          <button type="submit" className="link">
            Sign out
          </button>
        </form>
      </nav>
    </header>
  );
}
