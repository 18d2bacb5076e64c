// Live preview of a project's instructions on the settings page. The server renders the
// markdown with the labeling page's sanitiser (POST /console/preview/); this script only
// puts that sanitised HTML in place, never HTML it built from the raw text.
(function () {
  "use strict";
  const textarea = document.querySelector("textarea[data-preview]");
  if (!textarea) return;
  const target = document.getElementById(textarea.dataset.preview);
  const csrf = textarea.form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let timer = null;
  let latest = 0;

  async function refresh() {
    const ticket = ++latest; // an older answer arriving late must not overwrite a newer one
    const body = new URLSearchParams({ text: textarea.value });
    const response = await fetch(target.dataset.url, {
      method: "POST",
      body,
      headers: { "X-CSRFToken": csrf },
      credentials: "same-origin",
    });
    if (ticket === latest && response.ok) target.innerHTML = await response.text();
  }

  textarea.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
  refresh();
})();
