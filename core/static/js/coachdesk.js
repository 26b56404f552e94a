/* Coachdesk progressive enhancement. Nothing here is needed for a page to work.
 *  - forms (or submit buttons) with data-confirm ask before submitting;
 *  - flash messages get a close button;
 *  - the phone menu closes on Escape and on a click outside it;
 *  - selects with data-autosubmit submit their form when changed.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var text = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) { el.form.requestSubmit(); } else { el.form.submit(); }
    }
  });

  function addCloseButtons() {
    document.querySelectorAll(".flashes").forEach(function (region) {
      var label = region.getAttribute("data-dismiss-label") || "Dismiss";
      region.querySelectorAll(".flash").forEach(function (flash) {
        if (flash.querySelector(".flash-close")) { return; }
        var button = document.createElement("button");
        button.type = "button";
        button.className = "flash-close";
        button.setAttribute("aria-label", label);
        button.innerHTML = '<svg class="icon" aria-hidden="true" focusable="false"><use href="#i-x"></use></svg>';
        button.addEventListener("click", function () {
          var next = flash.nextElementSibling || flash.previousElementSibling;
          flash.remove();
          if (!region.querySelector(".flash")) { region.remove(); }
          var target = next && next.querySelector(".flash-close");
          if (target) { target.focus(); } else { document.getElementById("main").focus(); }
        });
        flash.appendChild(button);
      });
    });
  }

  function closeMenus(except) {
    document.querySelectorAll("details.nav-mobile[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }

  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details.nav-mobile"));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("details.nav-mobile[open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", addCloseButtons);
  } else {
    addCloseButtons();
  }
})();
