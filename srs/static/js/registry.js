// Registry: live progress of a bulk import. The page works without it (a Refresh link).
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector("[data-import-status]");
  if (!box) { return; }
  var url = box.getAttribute("data-import-status");
  var bar = box.querySelector("progress");
  function show(data) {
    bar.max = data.total || 1;
    bar.value = data.processed;
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var key = el.getAttribute("data-field");
      if (key in data) { el.textContent = data[key]; }
    });
  }
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        show(data);
        if (data.done) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  var state = box.querySelector("[data-field=status]").textContent.trim();
  if (state !== "done" && state !== "failed") { poll(); }
});

// Registration form: the household number and relationship only matter when joining a household.
// Without JS every field stays visible and the server says what is missing.
document.addEventListener("DOMContentLoaded", function () {
  var choice = document.getElementById("household_choice");
  if (!choice) { return; }
  var joinFields = ["household_id", "household_relationship"].map(function (id) {
    return document.getElementById(id).closest(".field");
  });
  function update() {
    joinFields.forEach(function (field) { field.hidden = choice.value !== "join"; });
  }
  choice.addEventListener("change", update);
  update();
});
