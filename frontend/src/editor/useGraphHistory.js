import { useCallback, useEffect, useRef, useState } from "react";
import { cleanEdge, cleanNode } from "./graph.js";

const HISTORY_LIMIT = 100;

/** Undo/redo over the graph: `remember()` snapshots it before a change (a `coalesceKey` folds a
 * run of edits to one field into one step); Ctrl+Z, Ctrl+Shift+Z and Ctrl+Y outside form fields. */
export default function useGraphHistory({ nodesRef, edgesRef, setNodes, setEdges, onChange }) {
  const past = useRef([]);
  const future = useRef([]);
  const lastEdit = useRef(null);
  const [size, setSize] = useState({ past: 0, future: 0 });
  const sync = () => setSize({ past: past.current.length, future: future.current.length });
  const snapshot = () => ({ nodes: nodesRef.current.map(cleanNode), edges: edgesRef.current.map(cleanEdge) });

  const remember = useCallback((coalesceKey = null) => {
    if (coalesceKey && lastEdit.current === coalesceKey) return;
    lastEdit.current = coalesceKey;
    past.current.push(snapshot());
    if (past.current.length > HISTORY_LIMIT) past.current.shift();
    future.current = [];
    sync();
    onChange();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps
  const travel = useCallback((from, to) => {
    const target = from.current.pop();
    if (!target) return;
    to.current.push(snapshot());
    lastEdit.current = null;
    setNodes(target.nodes);
    setEdges(target.edges);
    onChange();
    sync();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps
  const undo = useCallback(() => travel(past, future), [travel]);
  const redo = useCallback(() => travel(future, past), [travel]);
  const reset = useCallback(() => {
    past.current = [];
    future.current = [];
    lastEdit.current = null;
    sync();
  }, []);

  // Not while typing in a field: the field has its own undo.
  useEffect(() => {
    const onKey = (event) => {
      if (event.target.closest?.("input, textarea, select, [contenteditable=true]")) return;
      if (!(event.ctrlKey || event.metaKey)) return;
      const key = event.key.toLowerCase();
      if (key === "z" && !event.shiftKey) {
        event.preventDefault();
        undo();
      } else if ((key === "z" && event.shiftKey) || key === "y") {
        event.preventDefault();
        redo();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undo, redo]);

  return { remember, undo, redo, reset, size };
}
