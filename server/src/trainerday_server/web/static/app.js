// The only script the pages load (same origin; CSP forbids any other). Every page works without it: it adds
// the copy buttons, the upload progress bar and chart hover values.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 2000); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// Upload with a progress bar: the same form, sent by XMLHttpRequest (which reports upload progress); the
// server's answer is the same results page a plain submit would show.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form[data-progress]")) return;
  const bar = document.getElementById(form.dataset.progress);
  if (!bar || !window.XMLHttpRequest) return;
  event.preventDefault();
  const here = location.href;
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  bar.hidden = false;
  bar.value = 0;
  request.upload.addEventListener("progress", (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total * 100; });
  request.addEventListener("load", () => {
    document.open();
    document.write(request.responseText);
    document.close();
    history.replaceState(null, "", here);  // a reload shows the list, it does not send the files again
  });
  request.addEventListener("error", () => { bar.hidden = true; form.submit(); });
  request.send(new FormData(form));
});

// Chart hover values: the nearest sample's values under the pointer, from the chart's data-series.
document.addEventListener("pointermove", (event) => {
  const chart = event.target.closest && event.target.closest("figure.chart[data-values]");
  if (!chart) return;
  const svg = chart.querySelector("svg");
  const out = chart.querySelector("output");
  if (!svg || !out) return;
  const values = chart.dataset.values.split(",");
  const box = svg.getBoundingClientRect();
  const index = Math.min(values.length - 1, Math.max(0, Math.round((event.clientX - box.left) / box.width * (values.length - 1))));
  out.textContent = values[index];
});
