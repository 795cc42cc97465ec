// Run page while queued/running: refresh progress and the loss curve; reload when the run finishes.
import { draw } from "./charts.js";

const live = document.getElementById("live");
const runId = live.dataset.runId;
const bar = live.querySelector(".progress > span");
const label = document.getElementById("live-label");
const lossChart = document.getElementById("chart-loss");

async function tick() {
  try {
    const response = await fetch(`/runs/${runId}/live.json`, { cache: "no-store" });
    if (response.ok) {
      const run = await response.json();
      if (!run.active) {
        window.location.reload();
        return;
      }
      bar.style.width = `${(run.progress * 100).toFixed(1)}%`;
      label.textContent = `${run.status}${run.stage ? ` · ${run.stage} stage` : ""} · ${Math.round(run.progress * 100)}%`;
      const note = document.getElementById("live-note");
      if (note) {
        note.textContent = run.note || "";
        note.hidden = !run.note;
      }
      const badge = document.querySelector(".sub [data-role=status]");
      if (badge) {
        badge.className = `badge ${run.status}`;
        badge.textContent = run.status;
      }
      if (lossChart) draw(lossChart, run.loss);
    }
  } catch (err) {
    /* transient: retry on the next tick */
  }
  setTimeout(tick, 1500);
}
setTimeout(tick, 1500);
