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

  // htmx keeps a copy of the page for Back and Forward, but typed values live in the
  // inputs, not in the HTML it copies: write them into the HTML first (never passwords),
  // so that a restored search form shows the conditions its list was made with.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("input, select").forEach(function (field) {
      if (field.type === "password" || field.type === "hidden" || field.type === "file") {
        return;
      }
      if (field.tagName === "SELECT") {
        Array.prototype.forEach.call(field.options, function (option) {
          option.toggleAttribute("selected", option.selected);
        });
      } else if (field.type === "checkbox" || field.type === "radio") {
        field.toggleAttribute("checked", field.checked);
      } else {
        field.setAttribute("value", field.value);
      }
    });
  });
})();
