// The page's configuration (rendered by Django) and a small client for the Mono API: session
// cookie auth, the CSRF token on writes, and the tenant the page was resolved in.

const element = document.getElementById("console-config");
export const config = element ? JSON.parse(element.textContent) : { page: "dashboard", tenant: {}, can: {} };

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

function describe(status, body) {
  if (body && typeof body === "object") {
    if (typeof body.detail === "string") return body.detail;
    const parts = Object.entries(body).map(([field, value]) => {
      const text = Array.isArray(value)
        ? value.map((item) => (typeof item === "object" ? item.message || JSON.stringify(item) : item)).join("; ")
        : typeof value === "object"
          ? JSON.stringify(value)
          : String(value);
      return `${field}: ${text}`;
    });
    if (parts.length) return parts.join(" · ");
  }
  return `request failed (HTTP ${status})`;
}

function cookie(name) {
  const match = document.cookie.split("; ").find((item) => item.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
}

export function csrfToken() {
  return cookie("csrftoken");
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json", "X-Tenant": config.tenant.slug };
  if (method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken");
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1/${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** A `next`/`previous` link of an API page, as a path for `api()`. */
export function nextPath(link) {
  const at = link.indexOf("/api/v1/");
  return at === -1 ? link : link.slice(at + "/api/v1/".length);
}

/** Links to other console pages keep the tenant chosen with `?tenant=`. */
export function pageUrl(path) {
  return config.tenant_param ? `${path}?tenant=${encodeURIComponent(config.tenant_param)}` : path;
}

export function temporalUrl(executionId) {
  const { ui_url: base, namespace } = config.temporal || {};
  return `${base}/namespaces/${namespace}/workflows/${encodeURIComponent(executionId)}`;
}

/** A websocket to a live stream that reconnects (with a fresh snapshot) when it drops. */
export function liveStream(path, onMessage, onState = () => {}) {
  let socket = null;
  let closed = false;
  let retry = 500;
  const open = () => {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}${path}`, ["mono.v1"]);
    socket.onopen = () => {
      retry = 500;
      onState("live");
    };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (closed) return;
      if (event.code === 4401 || event.code === 4404) {
        onState("refused");
        return;
      }
      onState("reconnecting");
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 10000);
    };
  };
  open();
  return () => {
    closed = true;
    socket?.close();
  };
}

export function formatTime(value) {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export function duration(start, end) {
  if (!start) return "—";
  const ms = (end ? new Date(end) : new Date()) - new Date(start);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}
