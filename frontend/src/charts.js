// Chart.js, registered with only what the usage page draws. Loaded with a dynamic import, so
// it lands in its own chunk and the editor and monitor never download it.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

export const PALETTE = ["#4f46e5", "#16a34a", "#dc2626", "#d97706", "#0891b2", "#a855f7", "#64748b", "#db2777", "#65a30d"];

/** Draw a chart on `canvas`; returns a function that destroys it. */
export function draw(canvas, { type = "bar", labels, datasets, stacked = false, horizontal = false, yTitle = "" }) {
  const chart = new Chart(canvas, {
    type,
    data: {
      labels,
      datasets: datasets.map((dataset, index) => ({
        backgroundColor: dataset.color || PALETTE[index % PALETTE.length],
        borderColor: dataset.color || PALETTE[index % PALETTE.length],
        ...dataset,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: horizontal ? "y" : "x",
      plugins: { legend: { position: "bottom" } },
      scales: {
        x: { stacked },
        y: { stacked, beginAtZero: true, title: { display: Boolean(yTitle), text: yTitle } },
      },
    },
  });
  canvas.dataset.drawn = String(datasets.reduce((sum, dataset) => sum + dataset.data.filter((value) => value).length, 0));
  return () => chart.destroy();
}
