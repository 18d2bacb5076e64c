// Keyboard shortcuts, drag-and-drop ranking and in-place submits for the
// labeling page. The page works without this script: it only fills the same
// form's fields and posts it with fetch, then swaps in the next item.
(() => {
  "use strict";

  const itemBox = document.getElementById("item");
  if (!itemBox) return;
  const statusBox = document.getElementById("status");
  const help = document.getElementById("help");
  let shownAt = performance.now();
  let busy = false;
  let selectedCard = null; // the completion the labeler last focused or clicked

  const currentForm = () => itemBox.querySelector("form.judge");
  const cards = (form) => Array.from(form.querySelectorAll(".completion"));

  function say(text, kind = "") {
    statusBox.textContent = text;
    statusBox.className = kind;
  }

  // --- swapping items --------------------------------------------------------

  function swapIn(html) {
    // The partial is rendered by our server, where every untrusted text was
    // escaped or sanitised; parsing it never runs scripts.
    const doc = new DOMParser().parseFromString(html, "text/html");
    itemBox.replaceChildren(...doc.body.childNodes);
    shownAt = performance.now();
    selectedCard = null;
    setUpItem();
    window.scrollTo({ top: 0 });
  }

  async function loadNext() {
    const response = await fetch(itemBox.dataset.url, { headers: { "X-Requested-With": "fetch" } });
    if (response.redirected) return window.location.assign(response.url); // logged out
    if (response.ok) swapIn(await response.text());
  }

  async function submit(form, submitter) {
    if (busy) return; // one submit at a time: a second key press while waiting does nothing
    const data = new FormData(form, submitter);
    data.set("time_spent_ms", String(Math.round(performance.now() - shownAt)));
    busy = true;
    form.classList.add("busy");
    try {
      // The form's client_id is the same on every retry of this item, so a
      // submit that reached the server before the network failed is stored once.
      const response = await fetch(form.action, {
        method: "POST",
        body: data,
        headers: { "X-Requested-With": "fetch" },
      });
      if (response.redirected) return window.location.assign(response.url); // session ended: log in
      if (response.ok) {
        say("");
        swapIn(await response.text());
      } else if (response.status === 400 || response.status === 409) {
        const body = await response.json();
        say(Object.values(body.errors).join(" "), response.status === 409 ? "warning" : "error");
        if (response.status === 409) await loadNext();
      } else {
        say(`The server answered ${response.status}. Press the key again to retry.`, "error");
      }
    } catch (error) {
      say("Could not reach the server. Press the key again to retry; nothing is stored twice.", "error");
    } finally {
      busy = false;
      form.classList.remove("busy");
    }
  }

  itemBox.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(event.target, event.submitter);
  });

  // --- editing ---------------------------------------------------------------

  function openEditor(form) {
    const card = (selectedCard && form.contains(selectedCard) && selectedCard) || cards(form)[0];
    const panel = card && card.querySelector("details.edit");
    if (!panel) return;
    form.querySelectorAll("details.edit[open]").forEach((other) => other !== panel && (other.open = false));
    panel.open = true;
    const textarea = panel.querySelector("textarea");
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
  }

  // --- ranking ---------------------------------------------------------------

  const isExcluded = (card) => card.querySelector("[data-exclude]").checked;

  function syncRanks(list) {
    // Ranked cards first in screen order, excluded ones after them; then the
    // rank selects (what the form posts) are set to match the screen.
    const all = Array.from(list.children);
    list.append(...all.filter((c) => !isExcluded(c)), ...all.filter(isExcluded));
    let rank = 0;
    for (const card of list.children) {
      const excluded = isExcluded(card);
      const select = card.querySelector("[data-rank]");
      card.classList.toggle("excluded", excluded);
      select.disabled = excluded;
      select.value = excluded ? "" : String(++rank);
    }
  }

  function moveTo(card, position) {
    const list = card.parentElement;
    card.querySelector("[data-exclude]").checked = false; // giving it a rank takes it back in
    const others = Array.from(list.children).filter((c) => c !== card && !isExcluded(c));
    list.insertBefore(card, others[Math.max(0, position)] || null);
    syncRanks(list);
    card.focus();
  }

  function rankOf(card) {
    return Array.from(card.parentElement.children).filter((c) => !isExcluded(c)).indexOf(card);
  }

  function afterExcludeChange(card) {
    // Newly excluded: last of all; taken back in: last of the ranked ones.
    card.parentElement.appendChild(card);
    syncRanks(card.parentElement);
    card.focus();
  }

  function setUpRanking(list) {
    let dragged = null;
    list.addEventListener("dragstart", (event) => {
      const handle = event.target.closest && event.target.closest(".handle");
      if (!handle) return;
      dragged = handle.closest(".completion");
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.completion);
      event.dataTransfer.setDragImage(dragged, 16, 16);
    });
    list.addEventListener("dragover", (event) => {
      if (!dragged) return;
      event.preventDefault();
      const over = event.target.closest(".completion");
      if (!over || over === dragged) return;
      const box = over.getBoundingClientRect();
      list.insertBefore(dragged, event.clientY < box.top + box.height / 2 ? over : over.nextSibling);
    });
    list.addEventListener("drop", (event) => event.preventDefault());
    list.addEventListener("dragend", () => {
      if (!dragged) return;
      const card = dragged;
      dragged = null;
      card.classList.remove("dragging");
      syncRanks(list);
      card.focus();
    });
    list.addEventListener("change", (event) => {
      const card = event.target.closest(".completion");
      if (event.target.matches("[data-exclude]")) afterExcludeChange(card);
      if (event.target.matches("[data-rank]")) {
        if (event.target.value) return moveTo(card, Number(event.target.value) - 1);
        card.querySelector("[data-exclude]").checked = true; // no rank: same as "too hard / invalid"
        afterExcludeChange(card);
      }
    });
    syncRanks(list);
  }

  // --- set-up and keys -------------------------------------------------------

  function setUpItem() {
    const form = currentForm();
    if (!form) return;
    form.addEventListener("focusin", (event) => {
      const card = event.target.closest(".completion");
      if (card) selectedCard = card;
    });
    const list = form.querySelector("ol.ranking");
    if (list) {
      setUpRanking(list);
      list.firstElementChild.focus({ preventScroll: true });
    }
  }

  function isTyping(element) {
    return element.matches("textarea, select, input:not([type=checkbox]):not([type=radio]), [contenteditable]");
  }

  function pressButton(form, key) {
    const button = form.querySelector(`.actions [data-key="${key}"]`);
    if (button) form.requestSubmit(button);
    return Boolean(button);
  }

  function rankingKey(event) {
    const card = document.activeElement && document.activeElement.closest(".ranking > .completion");
    if (!card) return false;
    if (/^[1-9]$/.test(event.key)) {
      moveTo(card, Number(event.key) - 1);
    } else if (event.key === "ArrowUp") {
      moveTo(card, rankOf(card) - 1);
    } else if (event.key === "ArrowDown") {
      moveTo(card, rankOf(card) + 1);
    } else if (event.key === "x") {
      const box = card.querySelector("[data-exclude]");
      box.checked = !box.checked;
      afterExcludeChange(card);
    } else {
      return false;
    }
    return true;
  }

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target.matches && target.matches("details.edit textarea")) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        target.form.requestSubmit(target.closest("details.edit").querySelector("[data-save-edit]"));
      }
    }
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(target)) {
      if (event.key === "Escape") target.blur();
      return; // never a shortcut while the labeler types
    }
    if (help.open) return; // the dialog closes itself on Escape
    if (event.key === "?") {
      event.preventDefault();
      help.showModal();
      return;
    }
    const form = currentForm();
    if (!form || busy) return;
    const ranking = form.dataset.mode === "ranking";
    let handled = true;
    if (ranking && rankingKey(event)) {
      // moved, ranked or excluded the focused card
    } else if (event.key === "Enter" && ranking && !target.closest("button, summary, a")) {
      pressButton(form, "Enter");
    } else if (!ranking && ["1", "2", "t", "b"].includes(event.key)) {
      handled = pressButton(form, event.key);
    } else if (event.key === "s") {
      pressButton(form, "s");
    } else if (event.key === "e") {
      openEditor(form);
    } else if (event.key === "c") {
      form.querySelector("textarea[name=comment]").focus();
    } else if (event.key === "m" && !ranking) {
      const strength = form.querySelector("select[name=strength]");
      strength.selectedIndex = (strength.selectedIndex + 1) % strength.options.length;
    } else if (event.key === "d" && !ranking) {
      const diff = form.querySelector("details.diff");
      if (diff) diff.open = !diff.open;
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.querySelectorAll("[data-action=help]").forEach((button) => button.addEventListener("click", () => help.showModal()));
  setUpItem();
})();
