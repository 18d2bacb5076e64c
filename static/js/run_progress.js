// Live progress while a run is active: poll the runs API every 2 s and update the cells
// (textContent only: nothing from the server is parsed as HTML). Reload once a run ends,
// so the versions table shows what it published. Loaded by rewardtrain/models.html
// while a run is queued or running (a file, not inline: the CSP allows no inline script).
"use strict";
(function () {
  const table = document.getElementById("runs");
  if (!table) return;
  const timer = setInterval(async function () {
    let runs;
    try {
      const response = await fetch(table.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      runs = await response.json();
    } catch (error) { return; }
    for (const run of runs) {
      const row = table.querySelector(`tr[data-run="${Number(run.id)}"][data-active]`);
      if (!row) continue;
      if (run.status !== "queued" && run.status !== "running") { clearInterval(timer); location.reload(); return; }
      row.querySelector('[data-field="status"]').textContent = run.status;
      const progress = run.progress || {};
      if (progress.total) {
        const bar = document.createElement("progress");
        bar.max = progress.total; bar.value = progress.step;
        const loss = typeof progress.loss === "number" ? `, loss ${progress.loss.toFixed(3)}` : "";
        row.querySelector('[data-field="progress"]').replaceChildren(bar, ` ${progress.step}/${progress.total}${loss}`);
      }
    }
  }, 2000);
})();
