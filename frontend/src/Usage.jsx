import { useEffect, useRef, useState } from "react";
import { api, config } from "./api.js";
import TopBar from "./TopBar.jsx";

const STATUS_COLORS = {
  completed: "#16a34a",
  failed: "#dc2626",
  rejected: "#d97706",
  cancelled: "#64748b",
  running: "#2563eb",
  waiting: "#a855f7",
  pending: "#94a3b8",
};

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

/** One chart (Chart.js, loaded on first use) with its numbers as a table for screen readers and tests. */
function ChartPanel({ id, title, spec, table }) {
  const canvas = useRef(null);
  const [failed, setFailed] = useState("");
  useEffect(() => {
    if (!spec || !canvas.current) return undefined;
    let destroy = () => {};
    let cancelled = false;
    import("./charts.js")
      .then(({ draw }) => {
        if (!cancelled) destroy = draw(canvas.current, spec);
      })
      .catch((error) => setFailed(error.message));
    return () => {
      cancelled = true;
      destroy();
    };
  }, [spec]);
  const empty = spec && spec.datasets.every((dataset) => dataset.data.every((value) => !value));
  return (
    <section className="panel chart-panel" aria-labelledby={`${id}-title`} data-testid={id}>
      <h2 id={`${id}-title`}>{title}</h2>
      {failed && <p className="field-problem">{failed}</p>}
      {empty ? (
        <p className="hint">Nothing in this span yet.</p>
      ) : (
        <div className="chart-box">
          <canvas ref={canvas} role="img" aria-label={title} />
        </div>
      )}
      {table && (
        <details>
          <summary>Numbers</summary>
          <table className="runs data-table">
            <thead>
              <tr>
                {table.head.map((cell) => (
                  <th key={cell}>{cell}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row, index) => (
                <tr key={index}>
                  {row.map((cell, column) => (
                    <td key={column}>{cell}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}

function days(since, until) {
  const out = [];
  for (let day = new Date(`${since}T00:00:00Z`); isoDay(day) <= until; day.setUTCDate(day.getUTCDate() + 1)) out.push(isoDay(day));
  return out;
}

function pivot(rows, labels, keyOf, valueOf) {
  const series = {};
  for (const row of rows) {
    const key = keyOf(row);
    series[key] ??= Object.fromEntries(labels.map((label) => [label, 0]));
    series[key][row.day] += valueOf(row);
  }
  return Object.entries(series).map(([label, values]) => ({ label, data: labels.map((day) => values[day]) }));
}

/** Usage and cost: runs, durations, LLM tokens and cost, budgets, top workflows by cost. */
export default function Usage() {
  const [span, setSpan] = useState(() => {
    const until = new Date();
    const since = new Date(until);
    since.setUTCDate(since.getUTCDate() - 13);
    return { since: isoDay(since), until: isoDay(until) };
  });
  const [data, setData] = useState(null);
  const [problem, setProblem] = useState("");

  useEffect(() => {
    const query = `since=${span.since}&until=${span.until}`;
    Promise.all([
      api(`executions/stats?${query}`),
      api(`llm/analytics?group_by=day&group_by=provider&group_by=model&${query}`),
      api("llm/limits"),
    ])
      .then(([stats, llm, limits]) => {
        setData({ stats, llm: llm.rows, limits });
        setProblem("");
      })
      .catch((error) => setProblem(error.message));
  }, [span]);

  const labels = data ? days(data.stats.since, data.stats.until) : [];
  const charts = data && buildCharts(data, labels);
  const set = (name) => (event) => event.target.value && setSpan((current) => ({ ...current, [name]: event.target.value }));

  return (
    <div className="console list-page">
      <TopBar title={`Usage and cost · ${config.tenant.name}`} />
      <main className="list-main">
        <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label="Span">
          <label>
            From
            <input type="date" value={span.since} max={span.until} onChange={set("since")} />
          </label>
          <label>
            To
            <input type="date" value={span.until} min={span.since} onChange={set("until")} />
          </label>
        </form>
        {problem && (
          <p className="field-problem" role="alert">
            {problem}
          </p>
        )}
        {charts && (
          <div className="usage-grid">
            <ChartPanel id="chart-runs" title="Runs per day by status" {...charts.runs} />
            <ChartPanel id="chart-durations" title="Run duration per workflow (p50 / p95, seconds)" {...charts.durations} />
            <ChartPanel id="chart-tokens" title="LLM tokens per day by provider and model" {...charts.tokens} />
            <ChartPanel id="chart-cost" title="LLM cost per day by provider and model (USD)" {...charts.cost} />
            <ChartPanel id="chart-budgets" title="Budget used this month against its limit (USD)" {...charts.budgets} />
            <ChartPanel id="chart-top" title="Top workflows by LLM cost (USD)" {...charts.top} />
          </div>
        )}
      </main>
    </div>
  );
}

function buildCharts({ stats, llm, limits }, labels) {
  const short = labels.map((day) => day.slice(5));
  const runSeries = pivot(stats.runs_per_day, labels, (row) => row.status, (row) => row.runs).map((series) => ({
    ...series,
    color: STATUS_COLORS[series.label],
  }));
  const model = (row) => `${row.provider}:${row.model}`;
  const tokenSeries = pivot(llm, labels, model, (row) => row.input_tokens + row.output_tokens);
  const costSeries = pivot(llm, labels, model, (row) => Number(row.cost));
  const budgets = limits.filter((limit) => limit.monthly_budget !== null);
  return {
    runs: {
      spec: { labels: short, datasets: runSeries, stacked: true, yTitle: "runs" },
      table: {
        head: ["day", "status", "runs"],
        rows: stats.runs_per_day.map((row) => [row.day, row.status, row.runs]),
      },
    },
    durations: {
      spec: {
        labels: stats.durations.map((row) => row.name),
        datasets: [
          { label: "p50", data: stats.durations.map((row) => row.p50_ms / 1000) },
          { label: "p95", data: stats.durations.map((row) => row.p95_ms / 1000) },
        ],
        yTitle: "seconds",
      },
      table: {
        head: ["workflow", "runs", "p50 (ms)", "p95 (ms)"],
        rows: stats.durations.map((row) => [row.name, row.runs, row.p50_ms, row.p95_ms]),
      },
    },
    tokens: {
      spec: { labels: short, datasets: tokenSeries, stacked: true, yTitle: "tokens" },
      table: {
        head: ["day", "provider:model", "requests", "tokens"],
        rows: llm.map((row) => [row.day, model(row), row.requests, row.input_tokens + row.output_tokens]),
      },
    },
    cost: {
      spec: { type: "line", labels: short, datasets: costSeries, yTitle: "USD" },
      table: { head: ["day", "provider:model", "cost"], rows: llm.map((row) => [row.day, model(row), row.cost]) },
    },
    budgets: {
      spec: {
        labels: budgets.map((limit) => limit.provider || "all providers"),
        datasets: [
          { label: "spent", data: budgets.map((limit) => Number(limit.spent)), color: "#d97706" },
          { label: "limit", data: budgets.map((limit) => Number(limit.monthly_budget)), color: "#cbd5e1" },
        ],
        horizontal: true,
      },
      table: {
        head: ["provider", "month", "spent", "limit"],
        rows: budgets.map((limit) => [limit.provider || "all providers", limit.month, limit.spent, limit.monthly_budget]),
      },
    },
    top: {
      spec: {
        labels: stats.top_workflows_by_cost.map((row) => row.name),
        datasets: [{ label: "cost", data: stats.top_workflows_by_cost.map((row) => Number(row.cost)) }],
        horizontal: true,
      },
      table: {
        head: ["workflow", "requests", "tokens", "cost"],
        rows: stats.top_workflows_by_cost.map((row) => [row.name, row.requests, row.tokens, row.cost]),
      },
    },
  };
}
