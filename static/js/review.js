// The review page's keys: a accepts, r puts the cursor in the reason (Enter then rejects, the
// form's own submit), s or j skips to the next judgment. Without JavaScript the buttons and the
// Skip link do the same. A file, not inline: the CSP allows no inline script.
"use strict";
(function () {
  const accept = document.getElementById("accept-form");
  const reason = document.getElementById("review-reason");
  const skip = document.getElementById("skip-link");
  if (!accept || !reason) return;

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (typing) {
      if (event.key === "Escape") event.target.blur();
      return;  // Enter in the reason submits its form on its own
    }
    const key = event.key.toLowerCase();
    if (key === "a") {
      event.preventDefault();
      accept.requestSubmit();
    } else if (key === "r") {
      event.preventDefault();  // the r is not typed into the reason
      reason.focus();
    } else if ((key === "s" || key === "j") && skip) {
      event.preventDefault();
      window.location.assign(skip.href);
    }
  });
})();
