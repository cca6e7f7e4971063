import { useCallback, useEffect, useState } from "react";
import { api, config, formatTime, pageUrl } from "./api.js";
import TopBar from "./TopBar.jsx";

function Decisions({ decisions }) {
  if (!decisions?.length) return null;
  return (
    <ul className="decisions">
      {decisions.map((decision) => (
        <li key={decision.user} data-user={decision.user}>
          <strong>{decision.user}</strong> {decision.decision === "approve" ? "approved" : "rejected"}
          {decision.comment && <q>{decision.comment}</q>}
          <span className="hint"> · {formatTime(decision.created_at)}</span>
        </li>
      ))}
    </ul>
  );
}

function Waiting({ approval, onDecided }) {
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState("");
  const decide = async (decision) => {
    setBusy(true);
    setProblem("");
    try {
      await api(`approvals/${approval.id}/decide`, { method: "POST", body: { decision, comment } });
      onDecided();
    } catch (error) {
      setProblem(error.message);
      setBusy(false);
    }
  };
  const commentId = `comment-${approval.id}`;
  return (
    <li className="inbox-item" data-approval={approval.id}>
      <p className="inbox-message">{approval.message || `Approval at ${approval.node_id}`}</p>
      <p className="hint">
        Run <a href={pageUrl(`/executions/${approval.execution}/`)}>{approval.execution}</a> · step {approval.node_id}
        {" · "}opened {formatTime(approval.created_at)}
        {approval.deadline && <> · decide by {formatTime(approval.deadline)}</>}
      </p>
      <Decisions decisions={approval.decisions} />
      <label htmlFor={commentId}>Comment</label>
      <textarea id={commentId} rows={2} value={comment} onChange={(event) => setComment(event.target.value)} />
      {problem && (
        <p className="field-problem" role="alert">
          {problem}
        </p>
      )}
      <div className="inbox-actions">
        <button type="button" className="primary" disabled={busy} onClick={() => decide("approve")}>
          Approve
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => decide("reject")}>
          Reject
        </button>
      </div>
    </li>
  );
}

export default function Inbox() {
  const [waiting, setWaiting] = useState(null);
  const [decided, setDecided] = useState(null);
  const [problem, setProblem] = useState("");
  const load = useCallback(async () => {
    try {
      const [open, done] = await Promise.all([api("approvals/?mine=waiting"), api("approvals/?mine=decided")]);
      setWaiting(open.results);
      setDecided(done.results);
    } catch (error) {
      setProblem(error.message);
    }
  }, []);
  useEffect(() => {
    load();
  }, [load]);

  const mine = (approval) => approval.decisions?.find((decision) => decision.user === config.user);
  return (
    <div className="console inbox-page">
      <TopBar title={`Approvals · ${config.tenant.name}`} />
      {problem && <div className="notice notice-error">{problem}</div>}
      <main className="inbox">
        <section className="panel" aria-labelledby="waiting-heading">
          <h2 id="waiting-heading">Waiting for me ({waiting ? waiting.length : "…"})</h2>
          {waiting && waiting.length === 0 && <p className="hint">Nothing waits for your decision.</p>}
          <ul className="inbox-list" data-testid="inbox-waiting">
            {(waiting || []).map((approval) => (
              <Waiting key={approval.id} approval={approval} onDecided={load} />
            ))}
          </ul>
        </section>
        <section className="panel" aria-labelledby="decided-heading">
          <h2 id="decided-heading">Decided by me</h2>
          {decided && decided.length === 0 && <p className="hint">You have not decided any approval yet.</p>}
          <ul className="inbox-list" data-testid="inbox-decided">
            {(decided || []).map((approval) => (
              <li key={approval.id} className="inbox-item" data-approval={approval.id}>
                <p className="inbox-message">{approval.message || `Approval at ${approval.node_id}`}</p>
                <p className="hint">
                  Run <a href={pageUrl(`/executions/${approval.execution}/`)}>{approval.execution}</a> · you{" "}
                  {mine(approval)?.decision === "approve" ? "approved" : "rejected"} · now{" "}
                  <span className={`run-status status-${approval.status}`}>{approval.status}</span>
                </p>
                <Decisions decisions={approval.decisions} />
              </li>
            ))}
          </ul>
        </section>
      </main>
    </div>
  );
}
