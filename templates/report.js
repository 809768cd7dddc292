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
  var dragged = false;  // a drag that pans the diagram is not a click on a node
  document.querySelectorAll(".diagram g.node").forEach(function (node) {
    node.addEventListener("click", function (event) {
      event.preventDefault();
      if (dragged) { return; }
      document.querySelectorAll(".diagram g.node.selected").forEach(function (n) { n.classList.remove("selected"); });
      node.classList.add("selected");
      highlight(node.id.replace(/^node_/, "row_"));
    });
  });

  // Pan and zoom: each diagram sits in a box at most 70% of the window tall. It starts at a readable
  // size: all of it where that leaves it at least 0.75 of its natural size, else its width fitted to the
  // box within 0.75 and 4/3 (dot's points as CSS points, its 9 pt text at 12 px), at its top with its
  // main path (a straight line through its first node) in the middle: a tall or wide diagram scrolls and
  // pans. "fit" shows all of it in the box, the buttons and Ctrl+wheel zoom around the middle of the view,
  // and a drag pans.
  function size(svg) {
    var box = svg.viewBox && svg.viewBox.baseVal;
    return box && box.width ? { width: box.width, height: box.height } : svg.getBBox();
  }
  var LARGEST_START = 4 / 3;
  function readable(panel, svg) {  // all of it where that leaves its text readable, else its width fitted
    var natural = size(svg), all = fitted(panel, svg);
    if (all >= 0.75) { return Math.min(LARGEST_START, all); }
    return Math.max(0.75, Math.min(LARGEST_START, (panel.clientWidth || natural.width) / natural.width));
  }
  function fitted(panel, svg) {
    var natural = size(svg);
    var tallest = parseFloat(getComputedStyle(panel).maxHeight) || window.innerHeight * 0.7;
    return Math.min(panel.clientWidth / natural.width, (tallest - 2) / natural.height);
  }
  function setScale(panel, scale) {
    var svg = panel.querySelector("svg");
    if (!svg) { return; }
    var natural = size(svg), old = Number(panel.getAttribute("data-scale")) || scale;
    var fit = fitted(panel, svg);
    scale = Math.max(Math.min(fit, 0.2), Math.min(5, scale));
    var middleX = (panel.scrollLeft + panel.clientWidth / 2) / old, middleY = (panel.scrollTop + panel.clientHeight / 2) / old;
    svg.style.width = (natural.width * scale) + "px";
    svg.style.height = (natural.height * scale) + "px";
    panel.setAttribute("data-scale", String(scale));
    panel.scrollLeft = middleX * scale - panel.clientWidth / 2;
    panel.scrollTop = middleY * scale - panel.clientHeight / 2;
  }
  function visiblePanel() { return document.querySelector(".diagram:not([hidden])"); }
  function start(panel) {
    var svg = panel.querySelector("svg");
    if (!svg || panel.hasAttribute("data-scale")) { return; }
    setScale(panel, readable(panel, svg));
    panel.scrollTop = 0;
    var top = null;  // the box of the topmost node (the input), on the main path
    svg.querySelectorAll('g.node[id^="node_"]').forEach(function (node) {
      var box = node.getBoundingClientRect();
      if (!top || box.top < top.top) { top = box; }
    });
    if (top) {
      var view = panel.getBoundingClientRect();
      panel.scrollLeft += top.left + top.width / 2 - (view.left + panel.clientLeft + panel.clientWidth / 2);
    }
  }
  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var panel = visiblePanel();
      if (!panel || !panel.querySelector("svg")) { return; }
      var kind = button.getAttribute("data-zoom"), scale = Number(panel.getAttribute("data-scale")) || 1;
      if (kind === "fit") {
        setScale(panel, fitted(panel, panel.querySelector("svg")));
        panel.scrollLeft = 0; panel.scrollTop = 0;
      } else {
        setScale(panel, kind === "in" ? scale * 1.25 : scale / 1.25);
      }
    });
  });
  document.querySelectorAll(".diagram").forEach(function (panel) {
    panel.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) { return; }
      event.preventDefault();
      var scale = Number(panel.getAttribute("data-scale")) || 1;
      setScale(panel, event.deltaY < 0 ? scale * 1.1 : scale / 1.1);
    }, { passive: false });
    var from = null;
    panel.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 || event.pointerType === "touch") { return; }  // touch scrolls by itself
      from = { x: event.clientX, y: event.clientY, left: panel.scrollLeft, top: panel.scrollTop };
      dragged = false;
    });
    panel.addEventListener("pointermove", function (event) {
      if (!from) { return; }
      var dx = event.clientX - from.x, dy = event.clientY - from.y;
      if (!dragged && Math.abs(dx) + Math.abs(dy) < 5) { return; }
      dragged = true;
      panel.classList.add("panning");
      panel.scrollLeft = from.left - dx;
      panel.scrollTop = from.top - dy;
    });
    function stop() { from = null; panel.classList.remove("panning"); }
    panel.addEventListener("pointerup", stop);
    panel.addEventListener("pointerleave", stop);
  });
  buttons.forEach(function (button) { button.addEventListener("click", function () { start(visiblePanel()); }); });
  document.querySelectorAll(".diagram:not([hidden])").forEach(start);
  if (location.hash) { highlight(location.hash.slice(1)); }
})();
