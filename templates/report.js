(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("#layer-table tbody tr"));
  var byId = new Map(rows.map(function (row) { return [row.id, row]; }));
  var collapsed = new Set();

  function ancestors(row) {
    return (row.getAttribute("data-ancestors") || "").split(" ").filter(Boolean);
  }
  function refresh() {
    rows.forEach(function (row) {
      row.hidden = ancestors(row).some(function (id) { return collapsed.has(id); });
      var toggle = row.querySelector("button.toggle");
      if (toggle) { toggle.setAttribute("aria-expanded", String(!collapsed.has(row.id))); }
    });
  }
  function setAll(level, expand) {
    rows.forEach(function (row) {
      if (row.classList.contains("group") && Number(row.getAttribute("data-level")) >= level) {
        if (expand) { collapsed.delete(row.id); } else { collapsed.add(row.id); }
      }
    });
    refresh();
  }
  rows.forEach(function (row) {
    var toggle = row.querySelector("button.toggle");
    if (!toggle) { return; }
    toggle.addEventListener("click", function () {
      if (collapsed.has(row.id)) { collapsed.delete(row.id); } else { collapsed.add(row.id); }
      refresh();
    });
  });
  document.querySelectorAll("[data-expand]").forEach(function (button) {
    button.addEventListener("click", function () {
      setAll(Number(button.getAttribute("data-level") || 1), button.getAttribute("data-expand") === "true");
    });
  });
  // Start with blocks folded when the table is long: stages and blocks visible, layers on demand.
  if (rows.length > 80) { setAll(2, false); } else { refresh(); }

  function highlight(rowId) {
    var row = byId.get(rowId);
    if (!row) { return false; }
    ancestors(row).forEach(function (id) { collapsed.delete(id); });
    refresh();
    document.querySelectorAll("#layer-table tr.highlight").forEach(function (r) { r.classList.remove("highlight"); });
    row.classList.add("highlight");
    row.scrollIntoView({ block: "center" });
    return true;
  }

  // Diagram: depth switch, and each node linked to its row.
  var buttons = Array.prototype.slice.call(document.querySelectorAll("[data-show-depth]"));
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      var depth = button.getAttribute("data-show-depth");
      document.querySelectorAll(".diagram").forEach(function (panel) {
        panel.hidden = panel.getAttribute("data-depth") !== depth;
      });
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
    });
  });
  document.querySelectorAll(".diagram g.node").forEach(function (node) {
    node.addEventListener("click", function (event) {
      event.preventDefault();
      document.querySelectorAll(".diagram g.node.selected").forEach(function (n) { n.classList.remove("selected"); });
      node.classList.add("selected");
      highlight(node.id.replace(/^node_/, "row_"));
    });
  });
  if (location.hash) { highlight(location.hash.slice(1)); }
})();
