import { useCallback, useEffect, useRef, useState } from "react";
import { api, config, pageUrl } from "../api.js";
import { graphFrom } from "./graph.js";

/** The workflow being edited as the API keeps it: its id, name, versions and whether the canvas
 * has unsaved changes; load, save (a new version), restore a version, and leave the page. */
export default function useWorkflowDocument({ definition, loadGraph, flash, onSaveRefused, resetHistory }) {
  const [workflowId, setWorkflowId] = useState(config.workflow);
  const [name, setName] = useState(config.workflow ? "" : "Untitled workflow");
  const [latestVersion, setLatestVersion] = useState(null);
  const [versions, setVersions] = useState([]);
  const [loading, setLoading] = useState(Boolean(config.workflow));
  const [dirty, setDirty] = useState(false);

  const loadVersions = useCallback(async (id) => {
    if (!id) return;
    const page = await api(`workflows/${id}/versions?limit=200`);
    setVersions(page.results || []);
  }, []);

  useEffect(() => {
    if (!config.workflow) return;
    (async () => {
      try {
        const detail = await api(`workflows/${config.workflow}`);
        setName(detail.name);
        setLatestVersion(detail.latest_version);
        loadGraph(graphFrom(detail.definition || { nodes: [], edges: [] }));
        await loadVersions(config.workflow);
      } catch (error) {
        flash(`Could not load the workflow: ${error.message}`, "error");
      } finally {
        setLoading(false);
      }
    })();
  }, [flash, loadGraph, loadVersions]);

  // Leaving with unsaved changes asks first, unless the editor itself is moving on (after a save).
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  const leaving = useRef(false);
  useEffect(() => {
    const warn = (event) => {
      if (dirtyRef.current && !leaving.current) event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, []);
  const go = useCallback((url) => {
    leaving.current = true;
    window.location.assign(url);
  }, []);

  const save = useCallback(async () => {
    const body = { name: name.trim() || "Untitled workflow", definition: definition() };
    try {
      const detail = workflowId
        ? await api(`workflows/${workflowId}`, { method: "PATCH", body })
        : await api("workflows", { method: "POST", body });
      if (!workflowId) {
        setWorkflowId(detail.id);
        window.history.replaceState(null, "", pageUrl(`/workflows/${detail.id}/edit`));
      }
      setLatestVersion(detail.latest_version);
      setDirty(false);
      flash(`Saved as version ${detail.latest_version}`);
      await loadVersions(detail.id);
      return detail.id;
    } catch (error) {
      if (Array.isArray(error.body?.definition)) {
        onSaveRefused(error.body.definition);
        flash("Not saved: fix the problems marked on the graph.", "error");
      } else {
        flash(`Not saved: ${error.message}`, "error");
      }
      return null;
    }
  }, [name, definition, workflowId, flash, loadVersions, onSaveRefused]);

  const restore = useCallback(
    async (number) => {
      try {
        const detail = await api(`workflows/${workflowId}/versions/${number}/restore`, { method: "POST" });
        resetHistory();
        loadGraph(graphFrom(detail.definition));
        setLatestVersion(detail.latest_version);
        setDirty(false);
        flash(`Restored version ${number} as version ${detail.latest_version}`);
        await loadVersions(workflowId);
        return true;
      } catch (error) {
        flash(`Not restored: ${error.message}`, "error");
        return false;
      }
    },
    [workflowId, resetHistory, loadGraph, flash, loadVersions],
  );

  return { workflowId, name, setName, latestVersion, versions, loading, dirty, setDirty, save, restore, go };
}
