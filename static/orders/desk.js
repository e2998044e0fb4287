// Store desks: the store chooser opens the chosen store's desk at once, and the pickup
// queue refreshes itself so curbside arrivals show up without a click (never while a
// clerk is typing a pickup code).
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var chooser = document.getElementById("desk-location");
  if (chooser) {
    chooser.addEventListener("change", function () { chooser.form.submit(); });
  }
  var queue = document.querySelector("[data-refresh-seconds]");
  if (queue) {
    var seconds = parseInt(queue.getAttribute("data-refresh-seconds"), 10) || 30;
    setInterval(function () {
      var typing = Array.prototype.some.call(
        document.querySelectorAll(".desk input[name=code]"),
        function (field) { return field.value || field === document.activeElement && field.id !== "scan-code"; }
      );
      if (!typing) { window.location.reload(); }
    }, seconds * 1000);
  }
});
