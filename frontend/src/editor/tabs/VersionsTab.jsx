import { formatTime } from "../../api.js";

export default function VersionsTab({ workflowId, versions, latest, diff, onCompare, onRestore, canEdit }) {
  if (!workflowId) return <p className="hint">Save the workflow to start its version history.</p>;
  if (!versions.length) return <p className="hint">No versions yet.</p>;
  return (
    <ol className="versions">
      {versions.map((version) => (
        <li key={version.number} data-version={version.number} className={diff?.from === version.number ? "active" : ""}>
          <div>
            <strong>v{version.number}</strong> {version.number === latest && <span className="tag">latest</span>}
            <div className="hint">
              {version.author || "—"} · {formatTime(version.created_at)} · {version.graph?.nodes?.length ?? 0} nodes
            </div>
          </div>
          <div className="version-actions">
            {version.number !== latest && (
              <>
                <button type="button" onClick={() => onCompare(version.number, latest)}>
                  Compare
                </button>
                <button type="button" onClick={() => onRestore(version.number)} hidden={!canEdit}>
                  Restore
                </button>
              </>
            )}
            {version.number === latest && version.number > 1 && (
              <button type="button" onClick={() => onCompare(version.number - 1, version.number)}>
                Changes
              </button>
            )}
          </div>
        </li>
      ))}
    </ol>
  );
}

