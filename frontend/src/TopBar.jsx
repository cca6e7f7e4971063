import { config, pageUrl } from "./api.js";

export default function TopBar({ title, children }) {
  return (
    <header className="topbar">
      <a className="brand" href={pageUrl(config.urls?.dashboard || "/")}>
        Mono
      </a>
      <span className="page-title">{title}</span>
      <div className="topbar-main">{children}</div>
      <nav className="topbar-nav">
        <a href={pageUrl(config.urls?.dashboard || "/")}>Dashboard</a>
        {config.can?.edit && <a href={pageUrl(config.urls?.new_workflow || "/workflows/new")}>New workflow</a>}
        <span className="who" title={`role: ${config.role}`}>
          {config.user} · {config.tenant?.name}
        </span>
      </nav>
    </header>
  );
}
