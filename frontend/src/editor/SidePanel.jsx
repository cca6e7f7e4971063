import ProblemList from "../ProblemList.jsx";

const TABS = [
  ["properties", "Properties"],
  ["versions", "Versions"],
  ["templates", "Templates"],
  ["run", "Run"],
];

/** The editor's side panel: tabs (one component each, passed as `panels`) over the problem list. */
export default function SidePanel({ tab, onTab, panels, problems, onSelectProblem }) {
  return (
    <aside className="sidebar">
      <nav className="tabs" role="tablist">
        {TABS.map(([key, label]) => (
          <button key={key} type="button" role="tab" aria-selected={tab === key} className={tab === key ? "active" : ""} onClick={() => onTab(key)}>
            {label}
          </button>
        ))}
      </nav>
      <div className="tab-body">{panels[tab]}</div>
      <ProblemList problems={problems} onSelect={onSelectProblem} empty="None: the workflow can be saved and run." />
    </aside>
  );
}
