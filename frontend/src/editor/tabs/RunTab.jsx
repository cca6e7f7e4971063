import { config } from "../../api.js";

/** Start a run with a JSON input (saving first if needed); the run opens in the monitor. */
export default function RunTab({ input, onInput, onRun, running, invalid }) {
  return (
    <div className="run-form">
      <label htmlFor="run-input">Input (JSON object)</label>
      <textarea id="run-input" rows={8} value={input} onChange={(event) => onInput(event.target.value)} />
      <p className="hint">Available to templates as input.…; the run opens in the monitor. Unsaved changes are saved first.</p>
      {config.can?.execute ? (
        <button type="button" className="primary" onClick={onRun} disabled={running || invalid}>
          {running ? "Starting…" : "Run workflow"}
        </button>
      ) : (
        <p className="hint">Your role ({config.role}) cannot start runs.</p>
      )}
      {invalid && <p className="field-problem">Fix the problems first.</p>}
    </div>
  );
}
