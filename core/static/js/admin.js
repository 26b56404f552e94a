/* Admin progressive enhancement (core/admin). Nothing here is needed for a page to work.
 *  - text inputs with data-colour (#rrggbb) get a native colour picker beside them, in
 *    place of the static swatch "<input id>-swatch"; the picker and the text stay in step.
 */
(function () {
  "use strict";

  var HEX = /^#[0-9a-fA-F]{6}$/;

  function toHex(cssColour) {
    var m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(cssColour || "");
    if (!m) { return "#000000"; }
    return "#" + [m[1], m[2], m[3]].map(function (n) {
      return ("0" + parseInt(n, 10).toString(16)).slice(-2);
    }).join("");
  }

  document.querySelectorAll("input[data-colour]").forEach(function (text) {
    var swatch = document.getElementById(text.id + "-swatch");
    var picker = document.createElement("input");
    picker.type = "color";
    picker.className = "colour-picker";
    picker.setAttribute("aria-label", text.getAttribute("data-colour"));
    picker.value = HEX.test(text.value) ? text.value.toLowerCase()
      : toHex(swatch ? getComputedStyle(swatch).backgroundColor : "");
    picker.addEventListener("input", function () {
      text.value = picker.value;
    });
    text.addEventListener("input", function () {
      if (HEX.test(text.value)) {
        picker.value = text.value.toLowerCase();
      }
    });
    var row = document.createElement("div");
    row.className = "colour-row";
    text.parentNode.insertBefore(row, text);
    row.appendChild(text);
    row.appendChild(picker);
    if (swatch) { swatch.remove(); }
  });
})();
