// Progressive enhancement only: every page works without this file.
// A checkbox with data-select-all="NAME" checks or clears every checkbox
// named NAME in its form (the worker list's "select all").
(function () {
  "use strict";
  function onChange(event) {
    var box = event.target;
    if (!box || !box.matches || !box.matches("input[type=checkbox][data-select-all]")) {
      return;
    }
    var name = box.getAttribute("data-select-all");
    var scope = box.form || document;
    var boxes = scope.querySelectorAll("input[type=checkbox]");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].name === name && !boxes[i].disabled) {
        boxes[i].checked = box.checked;
      }
    }
  }
  document.addEventListener("change", onChange);
})();
