/* Client area and receipts: progressive enhancement only.
 *  - [data-print] buttons (hidden without JavaScript) print the page;
 *  - [data-copy] buttons copy the value of the input they name;
 *  - when the tab bar scrolls, it scrolls so that the current tab shows;
 *  - a sideways row of figures loses its fading edge once scrolled to the end.
 */
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        button.textContent = button.getAttribute("data-copied") || button.textContent;
      });
    });
  });
  document.querySelectorAll(".tabs").forEach(function (bar) {
    var current = bar.querySelector("[aria-current]");
    if (current && current.offsetLeft + current.offsetWidth > bar.clientWidth) {
      bar.scrollLeft = current.offsetLeft - (bar.clientWidth - current.offsetWidth) / 2;
    }
  });

  document.querySelectorAll(".stat-cards-compact").forEach(function (row) {
    function update() {
      row.classList.toggle("is-scrolled-end", row.scrollLeft + row.clientWidth >= row.scrollWidth - 4);
    }
    row.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    update();
  });
})();
