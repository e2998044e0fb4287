// The admin's own behaviour, from a static file so the Content-Security-Policy can forbid
// inline scripts: the store switcher submits on change, and a background job's page polls
// its progress until the job is finished.
(function () {
  "use strict";

  function storeSwitcher() {
    var select = document.getElementById("omni-store");
    if (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    }
  }

  function jobProgress() {
    var page = document.querySelector("[data-job-status-url]");
    if (!page) {
      return;
    }
    var url = page.getAttribute("data-job-status-url");
    var bar = page.querySelector(".omni-progress-bar");
    var state = document.getElementById("job-state");
    function poll() {
      fetch(url, {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.finished) { window.location.reload(); return; }
          bar.style.width = (s.percent === null ? 5 : s.percent) + "%";
          state.textContent = s.state_label + (s.total ? " · " + s.done + " of " + s.total : "")
            + (s.note ? " · " + s.note : "");
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    setTimeout(poll, 700);
  }

  document.addEventListener("DOMContentLoaded", function () {
    storeSwitcher();
    jobProgress();
  });
})();
