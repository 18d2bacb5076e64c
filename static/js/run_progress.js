// Live progress while a run is active: poll the runs API every 2 s and update the cells
// (textContent only: nothing from the server is parsed as HTML). Reload once a run ends,
// so the versions table shows what it published. Loaded by rewardtrain/models.html (the
// runs table) and run_detail.html (one run) while a run is queued or running (a file, not
// inline: the CSP allows no inline script).
"use strict";
(function () {
  const table = document.getElementById("runs");
  const single = document.getElementById("run-live");
  const poller = table || single;
  if (!poller) return;

  // What a running run is doing, as TrainingRun.phase_text says it on the server.
  function phaseText(progress) {
    if (progress.phase === "training" && progress.total) return `step ${progress.step} of ${progress.total}`;
    return progress.phase || "";
  }

  function show(element, run) {
    element.querySelector('[data-field="status"]').textContent = run.status;
    const progress = run.progress || {};
    const phase = element.querySelector('[data-field="phase"]');
    if (phase) phase.textContent = phaseText(progress);
    const cell = element.querySelector('[data-field="progress"]');
    if (cell && progress.total) {
      const bar = document.createElement("progress");
      bar.max = progress.total; bar.value = progress.step;
      const loss = typeof progress.loss === "number" ? `, loss ${progress.loss.toFixed(3)}` : "";
      cell.replaceChildren(bar, ` ${progress.step}/${progress.total}${loss}`);
    }
  }

  const timer = setInterval(async function () {
    let answer;
    try {
      const response = await fetch(poller.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      answer = await response.json();
    } catch (error) { return; }
    for (const run of table ? answer : [answer]) {
      const element = table ? table.querySelector(`tr[data-run="${Number(run.id)}"][data-active]`) : single;
      if (!element) continue;
      if (run.status !== "queued" && run.status !== "running") { clearInterval(timer); location.reload(); return; }
      show(element, run);
    }
  }, 2000);
})();
