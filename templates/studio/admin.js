// Follow a running narration build: poll its status once a second and show progress.
(function () {
  "use strict";
  var box = document.getElementById("rebuild-status");
  if (!box || box.hidden || !box.querySelector(".note")) return;
  var progress = box.querySelector("[data-progress]");
  var lines = box.querySelector("[data-lines]");

  function poll() {
    fetch("/admin/rebuild/status", { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        progress.textContent = box.dataset.progressWords
          .replace("{done}", status.done)
          .replace("{total}", status.total);
        lines.textContent = status.lines.join("\n");
        if (status.running) {
          window.setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
