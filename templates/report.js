(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("#layer-table tbody tr"));
  var byId = new Map(rows.map(function (row) { return [row.id, row]; }));
  var collapsed = new Set();

  function ancestors(row) {  // each row names its parent; the groups above it are found by walking up
    var found = [];
    var id = row.getAttribute("data-parent");
    while (id && byId.has(id) && found.length < rows.length) {
      found.push(id);
      id = byId.get(id).getAttribute("data-parent");
    }
    return found;
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
  // Zoom: diagrams start at their natural size, shrunk to fit the page but never below a size whose
  // text can be read (a wide diagram scrolls instead); buttons and Ctrl+wheel change it.
  var zoomFactor = 1;  // relative to the fitted size
  function naturalWidth(svg) { return svg.viewBox && svg.viewBox.baseVal ? svg.viewBox.baseVal.width : svg.getBBox().width; }
  function zoom(factor) {
    zoomFactor = Math.max(0.2, Math.min(5, factor));
    document.querySelectorAll(".diagram svg").forEach(function (svg) {
      var panel = svg.parentNode, width = naturalWidth(svg);
      var fit = Math.max(0.75, Math.min(1.25, (panel.clientWidth || width) / width));
      svg.style.width = Math.round(width * fit * zoomFactor) + "px";
    });
  }
  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var kind = button.getAttribute("data-zoom");
      zoom(kind === "fit" ? 1 : kind === "in" ? zoomFactor * 1.25 : zoomFactor / 1.25);
    });
  });
  document.querySelectorAll(".diagram").forEach(function (panel) {
    panel.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) { return; }
      event.preventDefault();
      zoom(event.deltaY < 0 ? zoomFactor * 1.1 : zoomFactor / 1.1);
    }, { passive: false });
  });
  buttons.forEach(function (button) { button.addEventListener("click", function () { zoom(zoomFactor); }); });
  zoom(1);
  if (location.hash) { highlight(location.hash.slice(1)); }
})();
