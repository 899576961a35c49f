// Small behaviours on top of htmx. Every screen works without this file.
(function () {
  "use strict";

  // After htmx swaps in a screen or a panel, move focus to its first error, or else to
  // its heading, so that keyboard and screen-reader users land on what changed.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    // A part that refreshes itself (data-refreshes-itself, the portal's tiles) changed
    // without anyone asking: the focus stays where it was (htmx keeps it on the same id).
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (source && source.hasAttribute("data-refreshes-itself")) {
      return;
    }
    if (target && !target.isConnected && target.id) {
      // An outerHTML swap replaced the target: look at what took its place.
      target = document.getElementById(target.id);
    }
    if (!target || target.id === "messages") {
      return;
    }
    // One query per kind: a list of selectors would take whichever comes first on the page,
    // which is the heading above the errors.
    var focusable =
      target.querySelector("[role='alert'], [aria-invalid='true']") ||
      target.querySelector("h1, h2");
    if (!focusable) {
      return;
    }
    if (!focusable.matches("input, select, textarea, button, a[href]")) {
      focusable.setAttribute("tabindex", "-1");
    }
    focusable.focus({ preventScroll: false });
  });

  // A form that htmx does not send (a plain POST) cannot be sent twice by a double click:
  // once the browser has read its values, its buttons are disabled and the form marked
  // busy. A page that comes back from the browser's history cache gets them back.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.method !== "post" || form.hasAttribute("hx-post")) {
      return;
    }
    window.setTimeout(function () {
      form.setAttribute("aria-busy", "true");
      form.querySelectorAll("button, input[type='submit']").forEach(function (button) {
        button.disabled = true;
      });
    }, 0);
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[aria-busy='true']").forEach(function (form) {
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button, input[type='submit']").forEach(function (button) {
        button.disabled = false;
      });
    });
  });

  // What works only with this script (ライブ映像's automatic refresh and its pause) comes
  // hidden, marked data-needs-script, so that a page without JavaScript promises nothing.
  function showScriptedParts() {
    document.querySelectorAll("[data-needs-script][hidden]").forEach(function (element) {
      element.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", showScriptedParts);
  document.addEventListener("htmx:afterSettle", showScriptedParts);

  // htmx keeps a copy of the page for Back and Forward. A list marked with
  // data-form-state says which conditions made it: the copy's search form gets those
  // values (not what was typed since), so a restored page shows a form and a list that
  // agree. The page on screen does not change.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("[data-form-state-for]").forEach(function (list) {
      var form = document.getElementById(list.getAttribute("data-form-state-for"));
      var state = JSON.parse(list.getAttribute("data-form-state") || "{}");
      if (!form) {
        return;
      }
      Object.keys(state).forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (!field) {
          return;
        }
        if (field.tagName === "SELECT") {
          Array.prototype.forEach.call(field.options, function (option) {
            option.toggleAttribute("selected", option.value === state[name]);
          });
        } else {
          field.setAttribute("value", state[name]);
        }
      });
    });
  });
})();
