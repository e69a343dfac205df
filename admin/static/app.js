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
