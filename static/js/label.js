// Keyboard shortcuts, drag-and-drop ranking and in-place submits for the
// labeling page. The page works without this script: it only fills the same
// form's fields and posts it with fetch, then swaps in the next item.
//
// What a submission stores is only what the labeler said: a choice is sent
// only for a key or button they pressed, a ranking only once they ranked
// every card (or excluded it), labels only once every card has one (or is
// excluded), an edit only when they changed the text. The "Will store" line
// shows the pairs (or labels) before anything is sent.
(() => {
  "use strict";

  const itemBox = document.getElementById("item");
  if (!itemBox) return;
  const statusBox = document.getElementById("status");
  const help = document.getElementById("help");
  let shownAt = performance.now();
  let busy = false;
  let selectedCard = null; // the completion the labeler last focused or clicked
  let chosen = ""; // a choice pressed while an edit is in progress: it is sent with the edit
  let afterDiscard = null; // what to do once the labeler agreed to discard their edit

  const currentForm = () => itemBox.querySelector("form.judge");
  const cards = (form) => Array.from(form.querySelectorAll(".completion"));
  const nameOf = (card) => card.querySelector(".tag").textContent.trim();
  const isRanking = (form) => form.dataset.mode === "ranking";
  const isClassify = (form) => form.dataset.mode === "classify";

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
    afterDiscard = null;
    setUpItem();
    window.scrollTo({ top: 0 });
  }

  async function loadNext() {
    const response = await fetch(itemBox.dataset.url, { headers: { "X-Requested-With": "fetch" } });
    if (response.redirected) return window.location.assign(response.url); // logged out
    if (response.ok) swapIn(await response.text());
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      return body.errors ? Object.values(body.errors).join(" ") : body.detail || "";
    } catch (error) {
      return "";
    }
  }

  async function send(form, { choice = "", skip = false }) {
    if (busy) return; // one submit at a time: a second key press while waiting does nothing
    // No submitter: the only choice sent is the one the labeler pressed.
    const data = new FormData(form);
    data.set("time_spent_ms", String(Math.round(performance.now() - shownAt)));
    if (skip) data.set("skip", "1");
    if (choice) data.set("choice", choice);
    const draft = draftOf(form);
    if (draft && !skip) data.set("edit_of", draft.dataset.editFor);
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
      } else if (response.status === 400) {
        // Invalid: the item stays as it is, to fix and send again.
        say(await errorText(response), "error");
      } else if (response.status === 409 || response.status === 422) {
        // The item is closed (judged already, or its lease lapsed and others
        // filled it): nothing here can be redone, so say why and move on.
        const why = await errorText(response);
        await loadNext();
        say(why || "This item is closed. Here is the next one.", "warning");
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

  // What a button press means. Choice buttons send at once, unless an edit is
  // in progress: then the choice joins the edit (press it again to take it
  // back) and the edit's save sends both. Skipping an edit asks first.
  function act(form, button) {
    if (busy || !button) return;
    const draft = draftOf(form);
    if (button.name === "skip") {
      if (draft) return ask(form, draft, "Skipping discards your edit of", () => send(form, { skip: true }));
      return send(form, { skip: true });
    }
    if (button.name === "choice") {
      if (!draft) return send(form, { choice: button.value });
      chosen = chosen === button.value ? "" : button.value;
      return update(form);
    }
    if (button.hasAttribute("data-save-edit") && !draft) {
      return say("The edit is still the same as the original: change it before saving.", "error");
    }
    const editAlone = draft && button.hasAttribute("data-save-edit");
    if (isRanking(form) && !rankingComplete(form) && !(editAlone && rankingUntouched(form))) {
      return say(`Give every completion a rank or mark it too hard / invalid first (${unranked(form).length} left).`, "error");
    }
    if (isClassify(form) && !classifyComplete(form)) {
      const left = unlabelled(form).length;
      return say(left ? `Give every completion a label or mark it too hard / invalid first (${left} left).` : "Label at least one completion, or skip the item.", "error");
    }
    send(form, { choice: chosen });
  }

  itemBox.addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.target, event.submitter);
  });

  // --- editing ---------------------------------------------------------------

  // The edit panel whose text the labeler changed, if any: that edit is sent.
  function draftOf(form) {
    return (
      Array.from(form.querySelectorAll("details.edit")).find((panel) => {
        const textarea = panel.querySelector("textarea");
        return textarea.value !== textarea.defaultValue;
      }) || null
    );
  }

  function openEditor(form) {
    // One edit per item: with a draft, `e` goes back to it.
    const draft = draftOf(form);
    const card = draft
      ? draft.closest(".completion")
      : (selectedCard && form.contains(selectedCard) && selectedCard) || cards(form)[0];
    const panel = card && card.querySelector("details.edit");
    if (!panel) return;
    form.querySelectorAll("details.edit[open]").forEach((other) => other !== panel && (other.open = false));
    panel.open = true;
    const textarea = panel.querySelector("textarea");
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
  }

  // The in-page question before typed text is thrown away. Keeping is the
  // default (Esc or Enter); only "Discard the edit" loses the text.
  function ask(form, draft, question, then = null) {
    const box = form.querySelector("[data-confirm]");
    box.querySelector("[data-confirm-text]").textContent =
      `${question} ${nameOf(draft.closest(".completion"))}. Keep it (it is saved with this item) or discard it?`;
    afterDiscard = then;
    box.hidden = false;
    box.querySelector("[data-keep]").focus();
  }

  function keepDraft(form) {
    const box = form.querySelector("[data-confirm]");
    box.hidden = true;
    afterDiscard = null;
    const draft = draftOf(form);
    // Out of the text box, so keys work: 1/2/t/b add a choice, e edits again.
    if (draft) draft.closest(".completion").focus();
  }

  function discardDraft(form) {
    const box = form.querySelector("[data-confirm]");
    box.hidden = true;
    const draft = draftOf(form);
    if (draft) {
      const textarea = draft.querySelector("textarea");
      textarea.value = textarea.defaultValue;
      draft.open = false;
      draft.closest(".completion").focus();
    }
    chosen = "";
    update(form);
    const then = afterDiscard;
    afterDiscard = null;
    if (then) then();
  }

  function leaveEditor(form, textarea) {
    const panel = textarea.closest("details.edit");
    if (textarea.value !== textarea.defaultValue) return ask(form, panel, "You typed an edit of");
    panel.open = false; // nothing typed: nothing to lose
    panel.closest(".completion").focus();
  }

  // --- ranking ---------------------------------------------------------------
  //
  // Each card's rank lives in data-rank (the select shows it and is what the
  // form posts; the badge shows it on the card). Cards start unranked, or with
  // the answer being changed ("Change" fills the selects in); a rank is only
  // ever given by the labeler: a digit, Alt+arrow, a drag, the select, or "use
  // the shown order". Cards stay where they are while they get ranks, so the
  // card the labeler looked at (and the focus) never jumps away; only a drag
  // moves one, to the place it is dropped on.

  const isExcluded = (card) => card.querySelector("[data-exclude]").checked;
  const rankOf = (card) => Number(card.dataset.rank || 0);
  const active = (list) => Array.from(list.children).filter((card) => !isExcluded(card));
  const unranked = (form) => active(form.querySelector("ol.ranking")).filter((card) => !rankOf(card));
  const rankingComplete = (form) => unranked(form).length === 0;
  const rankingUntouched = (form) => cards(form).every((card) => !rankOf(card) && !isExcluded(card));

  function setRankValue(card, rank) {
    card.dataset.rank = rank ? String(rank) : "";
    card.querySelector("[data-rank]").value = card.dataset.rank;
  }

  function setRank(card, rank) {
    // The card that held this rank takes the one this card had (or none): a
    // swap, so no two cards share a rank and no other card changes.
    const list = card.parentElement;
    const holder = Array.from(list.children).find((other) => other !== card && rankOf(other) === rank);
    if (holder) setRankValue(holder, rankOf(card));
    card.querySelector("[data-exclude]").checked = false; // giving it a rank takes it back in
    setRankValue(card, rank);
    markRanks(list);
  }

  function markRanks(list) {
    for (const card of list.children) {
      const out = isExcluded(card);
      if (out) setRankValue(card, 0);
      card.classList.toggle("excluded", out);
      card.classList.toggle("unranked", !out && !rankOf(card));
      card.querySelector("[data-rank]").disabled = out;
      card.querySelector("[data-rank-badge]").textContent = out ? "x" : card.dataset.rank || "–";
    }
    update(list.closest("form"));
  }

  function rankInShownOrder(form) {
    const list = form.querySelector("ol.ranking");
    active(list).forEach((card, i) => setRankValue(card, i + 1));
    markRanks(list);
  }

  function afterExcludeChange(card) {
    setRankValue(card, 0); // excluded has no rank; taken back in, it waits for one
    markRanks(card.parentElement);
  }

  // After a rank or an x, on to the next card still waiting (wrapping round); none left: stay.
  function focusNextUnranked(card) {
    const all = Array.from(card.parentElement.children);
    const at = all.indexOf(card);
    const next = [...all.slice(at + 1), ...all.slice(0, at)].find((other) => !isExcluded(other) && !rankOf(other));
    (next || card).focus();
  }

  function setUpRanking(list) {
    for (const card of list.children) card.dataset.rank = card.querySelector("[data-rank]").value;
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
      // Dropped in place p of the cards taking part: that is its rank.
      setRank(card, Array.from(list.children).filter((c) => c === card || !isExcluded(c)).indexOf(card) + 1);
      card.focus();
    });
    list.addEventListener("change", (event) => {
      const card = event.target.closest(".completion");
      if (event.target.matches("[data-exclude]")) {
        afterExcludeChange(card);
        card.focus();
      }
      if (event.target.matches("[data-rank]")) {
        const wanted = Number(event.target.value);
        event.target.value = card.dataset.rank || ""; // setRank swaps with the rank it had
        if (wanted) setRank(card, wanted);
        else {
          setRankValue(card, 0);
          markRanks(list);
        }
      }
    });
    markRanks(list);
  }

  // --- classify ----------------------------------------------------------------
  //
  // Each card's label is its checked radio button (what the form posts); cards
  // start unlabelled. A label and "too hard / invalid" exclude each other.

  const labelInputs = (card) => Array.from(card.querySelectorAll("[data-label]"));
  const labelOf = (card) => (labelInputs(card).find((input) => input.checked) || { value: "" }).value;
  const classified = (card) => isExcluded(card) || Boolean(labelOf(card));
  const unlabelled = (form) => cards(form).filter((card) => !classified(card));
  const classifyComplete = (form) => unlabelled(form).length === 0 && cards(form).some(labelOf);

  function markClassified(form) {
    for (const card of cards(form)) {
      card.classList.toggle("excluded", isExcluded(card));
      card.classList.toggle("unlabelled", !classified(card));
    }
    update(form);
  }

  function setLabel(card, key) {
    const input = labelInputs(card)[key - 1];
    if (!input) return false;
    input.checked = true;
    card.querySelector("[data-exclude]").checked = false;
    markClassified(card.closest("form"));
    return true;
  }

  function setExcluded(card, out) {
    card.querySelector("[data-exclude]").checked = out;
    if (out) labelInputs(card).forEach((input) => (input.checked = false));
    markClassified(card.closest("form"));
  }

  // After a label, on to the next card still waiting (wrapping round); none left: stay.
  function focusNextUnlabelled(card) {
    const all = cards(card.closest("form"));
    const at = all.indexOf(card);
    const next = [...all.slice(at + 1), ...all.slice(0, at)].find((other) => !classified(other));
    (next || card).focus();
  }

  function setUpClassify(form) {
    form.addEventListener("change", (event) => {
      const card = event.target.closest(".completion");
      if (event.target.matches("[data-label]")) setLabel(card, labelInputs(card).indexOf(event.target) + 1);
      if (event.target.matches("[data-exclude]")) setExcluded(card, event.target.checked);
    });
    markClassified(form);
  }

  function classifyKey(event, form) {
    // The focused card, else the one last focused, else the first still waiting.
    const focused = document.activeElement && document.activeElement.closest(".classify > .completion");
    const card =
      focused || (selectedCard && form.contains(selectedCard) && selectedCard) || unlabelled(form)[0] || cards(form)[0];
    if (!card) return false;
    const all = cards(form);
    const at = all.indexOf(card);
    if (/^[1-9]$/.test(event.key)) {
      if (!setLabel(card, Number(event.key))) return false;
      focusNextUnlabelled(card);
    } else if (event.key === "ArrowDown" || event.key === "ArrowRight") {
      (focused ? all[at + 1] || card : card).focus();
    } else if (event.key === "ArrowUp" || event.key === "ArrowLeft") {
      (focused ? all[at - 1] || card : card).focus();
    } else if (event.key === "x") {
      setExcluded(card, !isExcluded(card));
      if (isExcluded(card)) focusNextUnlabelled(card);
      else card.focus();
    } else {
      return false;
    }
    return true;
  }

  // --- what will be stored ---------------------------------------------------

  const PAIRWISE_CHOICES = { a: ["A", "B"], b: ["B", "A"] };
  const NO_PAIR = { tie: "tie: no pair", both_bad: "both bad: no pair" };

  function update(form) {
    if (!form) return;
    const line = form.querySelector("[data-will-store]");
    const shown = cards(form);
    if (isClassify(form)) {
      const said = shown.filter(classified).map((card) => `${nameOf(card)}: ${isExcluded(card) ? "excluded" : labelOf(card)}`);
      const labels = shown.filter(labelOf).length;
      const left = unlabelled(form).length;
      let missing = "";
      if (left) missing = ` ${left} of ${shown.length} still need a label or x.`;
      else if (!labels) missing = " Label at least one, or skip the item.";
      form.querySelector('.actions [data-key="Enter"]').disabled = !classifyComplete(form);
      const stored = said.length ? `${said.join(", ")} (${labels} label${labels === 1 ? "" : "s"})` : "nothing yet";
      line.textContent = `Will store: ${stored}.${missing}`;
      line.hidden = false;
      return;
    }
    const draft = draftOf(form);
    const parts = [];
    let pairs = 0;
    if (draft) {
      const edited = nameOf(draft.closest(".completion"));
      for (const card of shown) {
        const other = nameOf(card);
        parts.push(`edited ${edited} > ${other === edited ? "original " : ""}${other}`);
        pairs += 1;
      }
    }
    let missing = "";
    if (isRanking(form)) {
      const list = form.querySelector("ol.ranking");
      const ranked = active(list).filter(rankOf).sort((x, y) => rankOf(x) - rankOf(y));
      const left = unranked(form).length;
      if (draft && rankingUntouched(form)) missing = "Rank them too, or save the edit alone.";
      else if (left) missing = `${left} of ${shown.length} still need a rank or x.`;
      else if (ranked.length > 1) {
        parts.push(ranked.map(nameOf).join(" > "));
        pairs += (ranked.length * (ranked.length - 1)) / 2;
      } else parts.push("no ranking pair (fewer than two ranked)");
      form.querySelector('.actions [data-key="Enter"]').disabled = Boolean(left);
    } else {
      const strength = form.querySelector("select[name=strength]");
      const how = strength.value ? strength.selectedOptions[0].textContent : ""; // "much better"
      if (PAIRWISE_CHOICES[chosen]) {
        parts.push(PAIRWISE_CHOICES[chosen].join(" > ") + (how ? `, ${how}` : ""));
        pairs += 1;
      } else if (NO_PAIR[chosen]) parts.push(NO_PAIR[chosen]);
      form.querySelectorAll(".actions button[name=choice]").forEach((button) => {
        button.setAttribute("aria-pressed", String(button.value === chosen));
      });
      if (!draft && chosen) missing = "Your previous answer: Enter stores it again; 1, 2, t or b store another.";
      else if (!draft) missing = `1 stores A > B, 2 stores B > A${how ? `, each as ${how}` : ""}; a tie or both bad stores no pair.`;
      else if (!chosen) missing = "Press 1, 2, t or b to also say which original is better, or save the edit alone.";
      else missing = "Ctrl+Enter (or Save) sends it; press the choice again to take it back.";
    }
    const stored = parts.length ? `${parts.join(", ")} (${pairs} pair${pairs === 1 ? "" : "s"})` : "nothing yet";
    const out = isRanking(form) ? shown.filter(isExcluded).map(nameOf) : [];
    const excluded = out.length ? ` Excluded: ${out.join(", ")}.` : "";
    line.textContent = `Will store: ${stored}.${excluded}${missing ? " " + missing : ""}`;
    line.hidden = false;
  }

  // --- set-up and keys -------------------------------------------------------

  function setUpItem() {
    const form = currentForm();
    chosen = (form && form.dataset.previousChoice) || ""; // after "Change": the choice being changed
    if (!form) return;
    form.addEventListener("focusin", (event) => {
      const card = event.target.closest(".completion");
      if (card) selectedCard = card;
    });
    form.addEventListener("input", () => update(form));
    form.addEventListener("click", (event) => {
      const summary = event.target.closest("details.edit > summary");
      const panel = summary && summary.parentElement;
      if (panel && panel.open && panel === draftOf(form)) {
        event.preventDefault(); // closing the panel would hide typed text: ask instead
        ask(form, panel, "You typed an edit of");
      } else if (panel && !panel.open && draftOf(form)) {
        event.preventDefault(); // one edit per item: back to the one in progress
        openEditor(form);
      }
      if (event.target.closest("[data-keep]")) keepDraft(form);
      if (event.target.closest("[data-discard]")) discardDraft(form);
      if (event.target.closest("[data-action=shown-order]")) rankInShownOrder(form);
    });
    const list = form.querySelector("ol.ranking");
    if (list) {
      form.querySelector("[data-action=shown-order]").hidden = false;
      setUpRanking(list);
      list.firstElementChild.focus({ preventScroll: true });
    }
    const toClassify = form.querySelector("ol.classify");
    if (toClassify) {
      setUpClassify(form);
      toClassify.firstElementChild.focus({ preventScroll: true });
    }
    update(form);
  }

  function isTyping(element) {
    return element.matches("textarea, select, input:not([type=checkbox]):not([type=radio]), [contenteditable]");
  }

  function pressButton(form, key) {
    const button = form.querySelector(`.actions [data-key="${key}"]`);
    if (button) act(form, button);
    return Boolean(button);
  }

  function rankingKey(event, form) {
    // The focused card, else the one last focused, else the first still waiting.
    const list = form.querySelector("ol.ranking");
    const focused = document.activeElement && document.activeElement.closest(".ranking > .completion");
    const card =
      focused || (selectedCard && list.contains(selectedCard) && selectedCard) || unranked(form)[0] || list.firstElementChild;
    if (!card) return false;
    const all = Array.from(list.children);
    const at = all.indexOf(card);
    const step = { ArrowUp: -1, ArrowLeft: -1, ArrowDown: 1, ArrowRight: 1 }[event.key];
    if (event.altKey) {
      // Alt+↑/↓: the card's rank one better or worse, swapping with the card that had it.
      const to = rankOf(card) + step;
      if (!(event.key === "ArrowUp" || event.key === "ArrowDown")) return false;
      if (rankOf(card) && to >= 1 && to <= all.length) setRank(card, to);
      card.focus();
    } else if (/^[1-9]$/.test(event.key) && Number(event.key) <= all.length) {
      setRank(card, Number(event.key));
      focusNextUnranked(card);
    } else if (step) {
      (focused ? all[at + step] || card : card).focus();
    } else if (event.key === "x") {
      const box = card.querySelector("[data-exclude]");
      box.checked = !box.checked;
      afterExcludeChange(card);
      if (box.checked) focusNextUnranked(card);
      else card.focus();
    } else {
      return false;
    }
    return true;
  }

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const form = currentForm();
    const confirmBox = form && form.querySelector("[data-confirm]");
    if (confirmBox && !confirmBox.hidden) {
      if (event.key === "Escape") {
        event.preventDefault();
        keepDraft(form);
      }
      return; // the question is open: only its buttons (Tab, Enter) act
    }
    if (target.matches && target.matches("details.edit textarea")) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        act(target.form, target.closest("details.edit").querySelector("[data-save-edit]"));
      } else if (event.key === "Escape") {
        event.preventDefault();
        leaveEditor(target.form, target);
      }
      return; // never a shortcut while the labeler types
    }
    if (form && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const draft = draftOf(form);
      if (draft) {
        event.preventDefault();
        act(form, draft.querySelector("[data-save-edit]"));
      }
      return;
    }
    // Alt+↑/↓ moves a rank; any other Alt key is the browser's.
    const rankMove = event.altKey && form && isRanking(form) && (event.key === "ArrowUp" || event.key === "ArrowDown");
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || (event.altKey && !rankMove)) return;
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
    if (!form || busy) return;
    const ranking = isRanking(form);
    const classify = isClassify(form);
    const pairwise = !ranking && !classify;
    let handled = true;
    if (ranking && rankingKey(event, form)) {
      // ranked, moved or excluded the focused card
    } else if (classify && classifyKey(event, form)) {
      // labelled, excluded or left the focused card
    } else if (event.key === "Enter" && (ranking || classify) && !target.closest("button, summary, a")) {
      pressButton(form, "Enter");
    } else if (event.key === "Enter" && pairwise && chosen && !draftOf(form) && !target.closest("button, summary, a")) {
      send(form, { choice: chosen }); // the answer being changed, as it stands
    } else if (event.key === "o" && ranking) {
      rankInShownOrder(form);
    } else if (pairwise && ["1", "2", "t", "b"].includes(event.key)) {
      handled = pressButton(form, event.key);
    } else if (event.key === "s") {
      pressButton(form, "s");
    } else if (event.key === "e") {
      openEditor(form);
    } else if (event.key === "c") {
      form.querySelector("textarea[name=comment]").focus();
    } else if (event.key === "m" && pairwise) {
      const strength = form.querySelector("select[name=strength]");
      strength.selectedIndex = (strength.selectedIndex + 1) % strength.options.length;
      update(form);
    } else if (event.key === "d" && pairwise) {
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
