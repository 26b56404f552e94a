/* Coachdesk coach workspace, progressive enhancement only (every page works without it):
 *  - private client notes are saved with fetch() instead of a page reload;
 *  - the session editor's link rows can be added and removed;
 *  - buttons marked .js-hide (needed only without JavaScript) are hidden.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-notes-form]") || !window.fetch) { return; }
    event.preventDefault();
    var status = form.querySelector("[data-notes-status]");
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (status) { status.textContent = result.ok ? result.data.message : result.data.error; }
    }).catch(function () {
      form.submit();
    }).finally(function () {
      if (button) { button.disabled = false; }
    });
  });

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-link]");
    if (add) {
      var rows = add.parentElement.querySelector("[data-link-rows]");
      var last = rows.querySelector(".link-row:last-child");
      var copy = last.cloneNode(true);
      var n = rows.children.length + 1;
      copy.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.id = input.id.replace(/-\d+$/, "-" + n);
      });
      copy.querySelectorAll("label").forEach(function (label) {
        label.htmlFor = label.htmlFor.replace(/-\d+$/, "-" + n);
      });
      rows.appendChild(copy);
      copy.querySelector("input").focus();
      return;
    }
    var remove = event.target.closest("[data-remove-link]");
    if (remove) {
      var row = remove.closest(".link-row");
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      if (row.parentElement.children.length > 1) { row.remove(); }
    }
  });
})();
