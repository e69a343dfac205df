// Copy buttons, confirmations and the usage chart. No inline scripts: the pages work with a strict CSP.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent;
  const done = () => { button.textContent = "Copied"; setTimeout(() => (button.textContent = "Copy"), 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
  } else {
    fallbackCopy(text, done);
  }
});

function fallbackCopy(text, done) {
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  try { document.execCommand("copy"); done(); } finally { area.remove(); }
}

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// The customer's usage: charges and tokens per day, stacked by model (money as exact decimal
// strings of nano-dollars' worth, drawn in USD).
const PALETTE = ["#2b59c3", "#3f9b5b", "#c0504d", "#a15c00", "#7b4fb0", "#1b8a9a", "#6b7280"];
window.addEventListener("load", () => {
  const data = document.getElementById("usage-data");
  if (!data || !window.Chart) return;
  const d = JSON.parse(data.textContent);
  const usd = (v) => {
    const n = Number(v);
    if (n !== 0 && Math.abs(n) < 0.01) return "$" + n.toPrecision(2);
    return "$" + n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  };
  const count = (v) => Number(v).toLocaleString();
  const draw = (id, series, unit, format, scale) => {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: d.days, datasets: d.models.map((m, i) => ({
        label: m, data: series[m].map((v) => v / scale), backgroundColor: PALETTE[i % PALETTE.length] })) },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { tooltip: { callbacks: { label: (x) => `${x.dataset.label}: ${format(x.raw)}` } } },
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: unit }, ticks: { callback: format } } },
      },
    });
  };
  draw("usage-charges-chart", d.charge, "USD", usd, 1e9);
  draw("usage-tokens-chart", d.tokens, "tokens", count, 1);
});

// The operator's money charts: USD by month and by model (amounts come as exact decimal
// strings; drawn as numbers, shown to the cent).
window.addEventListener("load", () => {
  const data = document.getElementById("money-data");
  if (!data || !window.Chart) return;
  const c = JSON.parse(data.textContent);
  const usd = (v) => {  // small amounts (a few calls) keep their significant digits
    const n = Number(v);
    if (n !== 0 && Math.abs(n) < 0.01) return "$" + n.toPrecision(2);
    return "$" + n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  };
  const options = {
    responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { tooltip: { callbacks: { label: (x) => x.dataset.label + ": " + usd(x.raw) } } },
    scales: { y: { beginAtZero: true, title: { display: true, text: "USD" }, ticks: { callback: usd } } },
  };
  const byMonth = document.getElementById("money-by-month");
  if (byMonth) new window.Chart(byMonth, {
    type: "bar", options,
    data: { labels: c.months, datasets: [
      { label: "Collected", data: c.collected.map(Number), backgroundColor: "#2b59c3" },
      { label: "Usage sold", data: c.charges.map(Number), backgroundColor: "#3f9b5b" },
      { label: "Upstream cost", data: c.cost.map(Number), backgroundColor: "#c0504d" },
    ] },
  });
  for (const name of ["customer", "plan"]) {
    const canvas = document.getElementById(`money-by-${name}`);
    if (canvas && c[`${name}s`].length) new window.Chart(canvas, {
      type: "bar", options: { ...options, indexAxis: "y", scales: { x: { beginAtZero: true, title: { display: true, text: "USD" }, ticks: { callback: usd } } } },
      data: { labels: c[`${name}s`], datasets: [
        { label: "Collected", data: c[`${name}_collected`].map(Number), backgroundColor: "#2b59c3" },
        { label: "Usage sold", data: c[`${name}_charges`].map(Number), backgroundColor: "#3f9b5b" },
        { label: "Upstream cost", data: c[`${name}_cost`].map(Number), backgroundColor: "#c0504d" },
      ] },
    });
  }
  const byModel = document.getElementById("money-by-model");
  if (byModel) new window.Chart(byModel, {
    type: "bar", options: { ...options, indexAxis: "y", scales: { x: { beginAtZero: true, title: { display: true, text: "USD" }, ticks: { callback: usd } } } },
    data: { labels: c.models, datasets: [
      { label: "Usage sold", data: c.model_charges.map(Number), backgroundColor: "#3f9b5b" },
      { label: "Upstream cost", data: c.model_cost.map(Number), backgroundColor: "#c0504d" },
    ] },
  });
});

// A table or snippet wider than the screen scrolls sideways: reachable by keyboard too, so
// that it can be read without a pointer (WCAG 2.1.1).
function scrollableByKeyboard() {
  document.querySelectorAll(".card, .scroll, pre").forEach((el) => {
    const scrolls = el.scrollWidth > el.clientWidth + 1;
    if (scrolls && !el.hasAttribute("tabindex")) {
      el.tabIndex = 0;
      el.dataset.scrollFocus = "1";
    } else if (!scrolls && el.dataset.scrollFocus) {
      el.removeAttribute("tabindex");
      delete el.dataset.scrollFocus;
    }
  });
}
document.addEventListener("DOMContentLoaded", scrollableByKeyboard);
window.addEventListener("resize", scrollableByKeyboard);

// The operator's overview: series over time and the top customers, models and keys. Money
// comes as exact decimal strings, drawn as numbers and labelled in USD.
window.addEventListener("load", () => {
  const source = document.getElementById("overview-data");
  if (!source || !window.Chart) return;
  const d = JSON.parse(source.textContent);
  const count = (v) => Number(v).toLocaleString();
  const usd = (v) => {
    const n = Number(v);
    if (n !== 0 && Math.abs(n) < 0.01) return "$" + n.toPrecision(2);
    return "$" + n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  };
  const chart = (id, type, labels, datasets, unit, format, extra = {}) => {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const axis = extra.indexAxis === "y" ? "x" : "y";
    new window.Chart(canvas, {
      type, data: { labels, datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, ...extra,
        interaction: { mode: "index", intersect: false },
        plugins: { tooltip: { callbacks: { label: (x) => `${x.dataset.label}: ${format(x.raw)}` } } },
        scales: { [axis]: { beginAtZero: true, stacked: !!extra.stacked, title: { display: true, text: unit }, ticks: { callback: format } },
                  [axis === "y" ? "x" : "y"]: { stacked: !!extra.stacked } },
      },
    });
  };
  chart("chart-requests", "bar", d.labels, [
    { label: "Requests", data: d.requests, backgroundColor: "#2b59c3" },
    { label: "Errors", data: d.errors, backgroundColor: "#c0504d" },
    { label: "Refused", data: d.refusals, backgroundColor: "#a15c00" },
  ], "requests", count);
  chart("chart-tokens", "bar", d.labels, [
    { label: "Input", data: d.input, backgroundColor: "#2b59c3" },
    { label: "Output", data: d.output, backgroundColor: "#3f9b5b" },
  ], "tokens", count, { stacked: true });
  chart("chart-money", "bar", d.labels, [
    { label: "Charges", data: d.charges.map(Number), backgroundColor: "#3f9b5b" },
    { label: "Upstream cost", data: d.cost.map(Number), backgroundColor: "#c0504d" },
    { label: "Margin", data: d.margin.map(Number), type: "line", borderColor: "#1d2330", backgroundColor: "#1d2330", pointRadius: 0 },
  ], "USD", usd);
  for (const [name, label] of [["customers", "Charges"], ["models", "Charges"]]) {
    const el = document.getElementById(`${name}-data`);
    if (!el) continue;
    const t = JSON.parse(el.textContent);
    chart(`chart-${name}`, "bar", t.labels, [{ label, data: t.charges.map(Number), backgroundColor: "#3f9b5b" }], "USD", usd, { indexAxis: "y" });
  }
  const up = document.getElementById("upstreams-data");
  if (up) {
    const t = JSON.parse(up.textContent);
    chart("chart-upstreams", "bar", t.labels, [
      { label: "Calls", data: t.calls, backgroundColor: "#2b59c3" },
      { label: "429s", data: t.limited, backgroundColor: "#a15c00" },
      { label: "Errors", data: t.errors, backgroundColor: "#c0504d" },
    ], "calls", count, { indexAxis: "y" });
  }
});
