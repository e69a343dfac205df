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

window.addEventListener("load", () => {
  const data = document.getElementById("daily-data");
  const canvas = document.getElementById("daily-chart");
  if (!data || !canvas || !window.Chart) return;
  const days = JSON.parse(data.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: days.map((d) => d[0].slice(5)),
      datasets: [{ label: "Tokens", data: days.map((d) => d[1]), backgroundColor: "#2b59c3" }],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
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
