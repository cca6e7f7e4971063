import { useRef } from "react";
import { config } from "../api.js";

const VALIDITY_TEXT = { valid: "✓ valid", checking: "checking…" };

/** The editor's top bar contents: name, version, validity and the actions a role allows. */
export default function Toolbar({ name, onRename, latestVersion, validity, problemCount, history, onUndo, onRedo, onLayout, onExport, onImport, onSave, dirty }) {
  const fileInput = useRef(null);
  const canEdit = Boolean(config.can?.edit);
  const validityText =
    validity === "invalid" ? `✗ ${problemCount} problem${problemCount === 1 ? "" : "s"}` : VALIDITY_TEXT[validity] || "not checked";
  return (
    <>
      <input className="workflow-name" aria-label="Workflow name" readOnly={!canEdit} value={name} onChange={(event) => onRename(event.target.value)} />
      <span className="version-tag">{latestVersion ? `v${latestVersion}` : "unsaved"}</span>
      <span className={`validity validity-${validity}`} data-testid="validity">
        {validityText}
      </span>
      <div className="toolbar">
        {canEdit ? (
          <>
            <button type="button" onClick={onUndo} disabled={!history.past} title="Undo (Ctrl+Z)">
              ↶ Undo
            </button>
            <button type="button" onClick={onRedo} disabled={!history.future} title="Redo (Ctrl+Shift+Z)">
              ↷ Redo
            </button>
            <button type="button" onClick={onLayout} title="Arrange the nodes top to bottom">
              Layout
            </button>
          </>
        ) : (
          <span className="read-only" data-testid="read-only">
            Read only ({config.role})
          </span>
        )}
        <button type="button" onClick={onExport}>
          Export
        </button>
        {canEdit && (
          <>
            <button type="button" onClick={() => fileInput.current?.click()}>
              Import
            </button>
            <input ref={fileInput} type="file" accept="application/json,.json" hidden onChange={onImport} data-testid="import-file" />
            <button type="button" className="primary" onClick={onSave}>
              Save{dirty ? " *" : ""}
            </button>
          </>
        )}
      </div>
    </>
  );
}
