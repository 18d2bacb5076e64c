// Sortable tables: each column head of a table.sortable becomes a button that sorts the rows
// by that column, ascending then descending. The server's order is the page's default and all a
// reader without JavaScript gets. A cell sorts by its data-sort value when it has one (a number
// the text only shows part of), else by its text; columns headed th.num compare as numbers.
// A file, not inline: the CSP allows no inline script.
"use strict";
(function () {
  function key(cell, numeric) {
    const value = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    return numeric ? Number.parseFloat(value) || 0 : value.toLocaleLowerCase();
  }

  function sortBy(table, index, head) {
    const body = table.tBodies[0];
    const numeric = head.classList.contains("num");
    const ascending = head.getAttribute("aria-sort") !== "ascending";
    const rows = Array.from(body.rows);
    rows.sort(function (a, b) {
      const x = key(a.cells[index], numeric), y = key(b.cells[index], numeric);
      const order = numeric ? x - y : x.localeCompare(y);
      return ascending ? order : -order;
    });
    for (const th of table.tHead.rows[0].cells) th.removeAttribute("aria-sort");
    head.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    body.append(...rows);  // moves the rows: a stable sort keeps ties in the server's order
  }

  for (const table of document.querySelectorAll("table.sortable")) {
    Array.from(table.tHead.rows[0].cells).forEach(function (head, index) {
      if (!head.textContent.trim()) return;  // an actions column
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.append(...head.childNodes);
      head.append(button);
      button.addEventListener("click", function () { sortBy(table, index, head); });
    });
  }
})();
