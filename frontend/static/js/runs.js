// Runs table: selection → compare, and live status/progress of queued and running runs (polling).

// MLflow's client prints links into its own UI (http://server/#/experiments/1/runs/7) when a run
// ends: they land here, and go on to the run's page (or the experiment's runs).
const mlflowLink = location.hash.match(/^#\/experiments\/(\d+)(?:\/runs\/(\d+))?/);
if (mlflowLink) {
  const [, experiment, run] = mlflowLink;
  location.replace(run ? `/runs/${run}` : experiment === "0" ? "/" : `/?experiment=${experiment}`);
}
const table = document.getElementById("runs-table");
const button = document.getElementById("compare-selected");
const count = document.getElementById("selected-count");
const selectAll = document.getElementById("select-all");
// Statuses that can still change (rendered from worker/training/results.py ACTIVE_STATUSES).
const activeStatuses = table.dataset.activeStatuses.split(" ");

function boxes() {
  return [...table.querySelectorAll("tbody input[name=runs]")];
}

function refreshSelection() {
  const n = boxes().filter((b) => b.checked).length;
  count.textContent = n;
  button.disabled = n === 0;
}

table.addEventListener("change", (event) => {
  if (event.target === selectAll) boxes().forEach((b) => (b.checked = selectAll.checked));
  refreshSelection();
});
refreshSelection();

function pct(value) {
  return value === null || value === undefined ? "–" : (value * 100).toFixed(1);
}

async function poll() {
  const rows = [...table.querySelectorAll("tbody tr[data-run-id]")].filter((r) =>
    activeStatuses.includes(r.dataset.status),
  );
  if (rows.length === 0) return;
  try {
    const ids = rows.map((r) => r.dataset.runId).join(",");
    const response = await fetch(`/runs/live.json?ids=${ids}`, { cache: "no-store" });
    if (response.ok) {
      for (const run of await response.json()) {
        const row = table.querySelector(`tr[data-run-id="${run.id}"]`);
        if (!row) continue;
        row.dataset.status = run.status;
        const badge = row.querySelector("[data-role=status]");
        badge.className = `badge ${run.status}`;
        badge.textContent = run.status;
        row.querySelector(".progress > span").style.width = `${(run.progress * 100).toFixed(1)}%`;
        row.querySelector("[data-role=stage]").textContent =
          run.status === "running" ? `${run.stage || ""} ${Math.round(run.progress * 100)}%` : "";
        row.querySelector("[data-role=average]").textContent = pct(run.average);
        const mark = row.querySelector("[data-role=warnings]");
        mark.hidden = run.warnings.length === 0;
        mark.title = run.warnings.join("\n");
        mark.textContent = run.stuck ? "⚠ stuck at chance" : "⚠ warning";
      }
    }
  } catch (err) {
    /* server restarting: try again on the next tick */
  }
  setTimeout(poll, 1500);
}
setTimeout(poll, 1500);
