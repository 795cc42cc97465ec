// Draws every server-built figure on the page with the plotly.js served from the plotly package,
// and wires the PNG/SVG download buttons. Figures arrive as JSON in <script type="application/json">.
// Nothing leaves the server: the modebar never offers Plotly's cloud ("Share chart", "Edit in Chart
// Studio"), whatever a figure's own config says (backend/figures/style.py PLOTLY_CONFIG).
const NO_CLOUD = {
  displaylogo: false,
  showSendToCloud: false,
  showEditInChartStudio: false,
  showLink: false,
  plotlyServerURL: "",
};
const CONFIG = {
  responsive: true,
  modeBarButtonsToRemove: ["sendDataToCloud", "editInChartStudio", "lasso2d", "select2d", "autoScale2d"],
  toImageButtonOptions: { format: "png", scale: 2 },
  ...NO_CLOUD,
};

export function readFigure(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

export function draw(el, figure) {
  const removed = [...CONFIG.modeBarButtonsToRemove, ...((figure.config || {}).modeBarButtonsToRemove || [])];
  const config = {
    ...CONFIG,
    ...(figure.config || {}),
    ...NO_CLOUD,
    modeBarButtonsToRemove: [...new Set(removed)],
    toImageButtonOptions: { ...CONFIG.toImageButtonOptions, filename: el.id },
  };
  return window.Plotly.react(el, figure.data, figure.layout, config).then(() => {
    el.dataset.rendered = "true";
  });
}

export function drawAll(root = document) {
  for (const el of root.querySelectorAll("[data-figure]")) {
    const figure = readFigure(el.dataset.figure);
    if (figure) draw(el, figure);
  }
}

function wireDownloads() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-download]");
    if (!button) return;
    const el = document.getElementById(button.dataset.download);
    if (!el || !el.dataset.rendered) return;
    window.Plotly.downloadImage(el, {
      format: button.dataset.format,
      filename: button.dataset.filename || el.id,
      width: Math.max(el.clientWidth, 900),
      height: el.clientHeight || 450,
      scale: button.dataset.format === "png" ? 2 : 1,
    });
  });
}

drawAll();
wireDownloads();
