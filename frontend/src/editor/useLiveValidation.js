import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api.js";

const VALIDATE_DELAY_MS = 350;

/** Validation as you type: whenever what the engine sees changes (not positions or selection),
 * the graph is checked by the API after a short pause; stale answers are dropped. */
export default function useLiveValidation({ nodes, edges, paused, definition, flash }) {
  const [problems, setProblems] = useState([]);
  const [validity, setValidity] = useState("checking");
  const ticket = useRef(0);
  const engineKey = useMemo(
    () =>
      JSON.stringify([
        nodes.map((node) => [node.id, node.type, node.data]),
        edges.map((edge) => [edge.id, edge.source, edge.target, edge.sourceHandle || null]),
      ]),
    [nodes, edges],
  );
  useEffect(() => {
    if (paused) return undefined;
    setValidity("checking");
    const timer = setTimeout(async () => {
      const mine = ++ticket.current;
      try {
        const result = await api("workflows/validate", { method: "POST", body: { definition: definition() } });
        if (mine !== ticket.current) return;
        setProblems(result.errors);
        setValidity(result.valid ? "valid" : "invalid");
      } catch (error) {
        if (mine === ticket.current) {
          setValidity("unknown");
          flash(`Validation unavailable: ${error.message}`, "error");
        }
      }
    }, VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [engineKey, paused, definition, flash]);

  const problemsByNode = useMemo(() => {
    const byNode = {};
    for (const problem of problems) if (problem.node_id && !problem.edge_id) (byNode[problem.node_id] ||= []).push(problem);
    return byNode;
  }, [problems]);
  const problemsByEdge = useMemo(() => {
    const byEdge = {};
    for (const problem of problems) if (problem.edge_id) (byEdge[problem.edge_id] ||= []).push(problem);
    return byEdge;
  }, [problems]);

  /** A save refused with graph errors shows them at once. */
  const showRefusal = (errors) => {
    setProblems(errors);
    setValidity("invalid");
  };
  return { problems, validity, problemsByNode, problemsByEdge, showRefusal };
}
