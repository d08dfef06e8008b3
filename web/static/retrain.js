/*
 * The console's Retrain page (console/retraining.py): while a retrain or a rollback runs,
 * ask the page server for its progress every two seconds (/staff/retrain/status) and show
 * it on the bar; once it is over, reload the page, which then shows the outcome and the
 * comparison. The step text is a live region: it is announced when the step changes only.
 * Without JavaScript the page refreshes itself every ten seconds instead.
 */
(function () {
  "use strict";
  var box = document.getElementById("retrain-progress");
  if (!box || box.getAttribute("data-state") !== "running") {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("retrain-bar");
  var step = document.getElementById("retrain-step");
  var elapsed = document.getElementById("retrain-elapsed");

  function show(status) {
    bar.value = status.percent;
    bar.textContent = status.percent + "%";
    if (step.textContent !== status.label) {
      step.textContent = status.label;
    }
    elapsed.textContent = String(status.elapsed);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        if (status.state !== "running") {
          window.location.reload();
          return;
        }
        show(status);
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        window.setTimeout(poll, 5000); // signed out or the server restarting: try again later
      });
  }

  window.setTimeout(poll, 2000);
})();
