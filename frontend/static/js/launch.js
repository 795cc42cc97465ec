// Launch form: show only what applies (task's languages, chosen method's settings, local data folder,
// STS-B stage settings), language presets, and a live "this launches N runs" summary.
const form = document.getElementById("launch-form");
const $ = (selector) => form.querySelector(selector);
const field = (name) => form.querySelector(`[data-field="${name}"]`);

function task() {
  return $("#f-task").value;
}

function applyTask() {
  const t = task();
  const source = $("#f-source_language");
  for (const option of source.options) {
    option.hidden = option.dataset.tasks !== t;
  }
  if (source.selectedOptions[0]?.hidden) {
    source.value = "en";
    const visible = [...source.options].find((o) => !o.hidden && o.value === "en");
    if (visible) visible.selected = true;
  }
  for (const label of form.querySelectorAll("#eval-languages label[data-tasks]")) {
    const inTask = label.dataset.tasks.split(" ").includes(t);
    label.hidden = !inTask;
    if (!inTask) label.querySelector("input").checked = false;
  }
  for (const tier of form.querySelectorAll(".lang-tier")) {
    tier.hidden = ![...tier.querySelectorAll("label")].some((l) => !l.hidden);
  }
  const extra = field("eval.extra");
  extra.hidden = t !== "xnli";
  if (extra.hidden) extra.querySelector("input").checked = false;
}

function languageBoxes() {
  return [...form.querySelectorAll("input[name='eval.languages']")].filter((b) => !b.closest("label").hidden);
}

function preset(kind) {
  for (const box of languageBoxes()) {
    box.checked = kind === "all" || (kind === "low" && box.dataset.tier === "low");
  }
  update();
}

function gridMethods() {
  return [...form.querySelectorAll("input[name='grid.methods']:checked")].map((b) => b.value);
}

function seedCount() {
  const text = $("#f-seeds").value.trim();
  let n = 0;
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (!m) return null;
    n += m[2] ? Math.max(0, Number(m[2]) - Number(m[1]) + 1) : 1;
  }
  return n || 1;
}

function update() {
  $("#f-data-dir").closest(".field").hidden = $("#f-data-source").value !== "local";
  const bothStages = $("#f-grid-intermediate").checked;
  const sts = $("#f-intermediate-enabled").checked || bothStages;
  form.querySelector("[data-show-when='intermediate.enabled']").hidden = !sts;
  const grid = gridMethods();
  const methods = grid.length ? grid : [$("#f-robust-method").value];
  $("#f-robust-method").disabled = grid.length > 0;
  for (const group of form.querySelectorAll("[data-method]")) {
    group.hidden = !methods.includes(group.dataset.method);
  }
  const checked = languageBoxes().filter((b) => b.checked).length;
  $("#lang-count").textContent = `${checked} of ${languageBoxes().length} selected`;
  const seeds = seedCount();
  const stages = bothStages ? 2 : 1;
  const runs = seeds === null ? null : seeds * methods.length * stages;
  const button = $("#launch-submit");
  const summary = $("#launch-summary");
  if (runs === null) {
    button.textContent = "Launch";
    summary.textContent = "Seeds: write whole numbers like 1, 2, 3 or a range 1-3.";
  } else if (runs === 1) {
    button.textContent = "Launch run";
    summary.textContent = `1 run · ${methods[0]} · ${checked} evaluation languages`;
  } else if ($("#f-study").checked) {
    button.textContent = `Launch study (${runs} runs)`;
    summary.textContent = `${methods.length * stages} methods × ${seeds} seed${seeds > 1 ? "s" : ""}, compared with the baseline · ${checked} evaluation languages`;
  } else {
    button.textContent = `Launch sweep (${runs} runs)`;
    const stageText = bothStages ? " × with/without STS-B" : "";
    summary.textContent = `${methods.length} method${methods.length > 1 ? "s" : ""}${stageText} × ${seeds} seed${seeds > 1 ? "s" : ""} · ${checked} evaluation languages`;
  }
}

// The server's checks of the filled-in form: a local data folder that is not there, the CPU estimate.
let checksTimer = null;
let checksAsked = 0;
async function refreshChecks() {
  const asked = ++checksAsked;
  const query = new URLSearchParams(new FormData(form));
  try {
    const response = await fetch(`/launch/checks.json?${query}`, { cache: "no-store" });
    if (!response.ok || asked !== checksAsked) return;
    const checks = await response.json();
    const warning = document.getElementById("data-warning");
    warning.textContent = checks.data_warning || "";
    warning.hidden = !checks.data_warning;
    const estimate = document.getElementById("launch-estimate");
    estimate.textContent = checks.estimate || "";
    estimate.hidden = !checks.estimate;
  } catch (err) {
    /* offline for a moment: the page's own render still shows the last checks */
  }
}
function scheduleChecks() {
  clearTimeout(checksTimer);
  checksTimer = setTimeout(refreshChecks, 300);
}

form.addEventListener("change", (event) => {
  if (event.target.id === "f-task") applyTask();
  update();
  scheduleChecks();
});
form.addEventListener("input", () => {
  update();
  scheduleChecks();
});
form.addEventListener("click", (event) => {
  const button = event.target.closest("[data-preset]");
  if (button) preset(button.dataset.preset);
});
// "Study" preset: the paper's grid (every robust method × with/without STS-B), at least 3 seeds, as a study.
form.addEventListener("click", (event) => {
  if (!event.target.closest("[data-study-preset]")) return;
  for (const box of form.querySelectorAll("input[name='grid.methods']")) box.checked = true;
  $("#f-grid-intermediate").checked = true;
  if ((seedCount() ?? 0) < 3) $("#f-seeds").value = "1-3";
  $("#f-study").checked = true;
  update();
});
form.addEventListener("submit", () => {
  $("#f-robust-method").disabled = false; // a disabled select is not submitted; the server ignores it for grids
});
applyTask();
update();
document.querySelector(".field-error")?.closest(".field, fieldset")?.scrollIntoView({ block: "center" });
