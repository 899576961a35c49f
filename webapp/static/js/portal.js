// Small behaviours on top of htmx. Every screen works without this file.
(function () {
  "use strict";

  // After htmx swaps in a screen or a panel, move focus to its first error, or else to
  // its heading, so that keyboard and screen-reader users land on what changed.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || target.id === "messages") {
      return;
    }
    var focusable = target.querySelector("[aria-invalid='true'], [role='alert'], h1, h2");
    if (!focusable) {
      return;
    }
    if (!focusable.matches("input, select, textarea, button, a[href]")) {
      focusable.setAttribute("tabindex", "-1");
    }
    focusable.focus({ preventScroll: false });
  });
})();
