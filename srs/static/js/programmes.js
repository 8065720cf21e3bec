// Programmes: the rule editor's operator lists follow the chosen field; the re-screening progress bar polls.
(function () {
  "use strict";

  function syncOperators(fieldSelect) {
    var leaf = fieldSelect.closest(".rule-leaf");
    if (!leaf) { return; }
    var chosen = fieldSelect.options[fieldSelect.selectedIndex];
    var allowed = (chosen && chosen.getAttribute("data-ops") || "").split(" ");
    var opSelect = leaf.querySelector("[data-rule-op]");
    if (!opSelect || allowed.length === 0 || allowed[0] === "") { return; }
    var keep = false;
    Array.prototype.forEach.call(opSelect.options, function (option) {
      var ok = allowed.indexOf(option.value) !== -1;
      option.hidden = !ok;
      option.disabled = !ok;
      if (ok && option.selected) { keep = true; }
    });
    if (!keep) { opSelect.value = allowed[0]; }
    syncSecond(opSelect);
  }

  function syncSecond(opSelect) {
    var leaf = opSelect.closest(".rule-leaf");
    var second = leaf && leaf.querySelector("[data-rule-second]");
    if (second) { second.hidden = opSelect.value !== "between"; }
  }

  function pollRescreen(box) {
    var url = box.getAttribute("data-rescreen-status");
    var bar = box.querySelector("[data-rescreen-progress]");
    var text = box.querySelector("[data-rescreen-text]");
    var state = box.querySelector("[data-rescreen-state]");
    var fresh = box.querySelector("[data-rescreen-new]");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          bar.max = Math.max(data.total, 1);
          bar.value = data.status === "done" && data.total === 0 ? 1 : data.done;
          text.textContent = data.done + " / " + data.total;
          state.textContent = data.status_label;
          fresh.textContent = data.newly_eligible;
          if (data.status !== "done" && data.status !== "failed") { window.setTimeout(tick, 1000); }
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-rule-field]").forEach(function (select) {
      syncOperators(select);
      select.addEventListener("change", function () { syncOperators(select); });
    });
    document.querySelectorAll("[data-rule-op]").forEach(function (select) {
      syncSecond(select);
      select.addEventListener("change", function () { syncSecond(select); });
    });
    document.querySelectorAll("[data-rescreen-status]").forEach(pollRescreen);
  });
})();
