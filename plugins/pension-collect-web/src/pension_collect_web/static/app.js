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

// editor: "Add a line" (添加一行) of the worker editor without a round trip.
// The last line of the same box is copied, emptied and renumbered one past
// the highest line of its part, as the server adds it; without this file (or
// in a box with no line yet to copy) the button posts the form and the
// server adds the line.
(function () {
  "use strict";
  var DEFAULTS = {
    transfer: { source: "transfer_in" },
    institution: { employer_kind: "institution" }
  };
  function renumber(text, part, from, to) {
    return text
      .split("$." + part + "[" + from + "]").join("$." + part + "[" + to + "]")
      .split("f-" + part + "-" + from + "-").join("f-" + part + "-" + to + "-")
      .split("line-" + part + "-" + from).join("line-" + part + "-" + to)
      .split("remove:" + part + ":" + from).join("remove:" + part + ":" + to);
  }
  function onClick(event) {
    var button = event.target && event.target.closest ? event.target.closest("button") : null;
    var found = button ? /^add:(upper|lower|transfer|institution|account)$/.exec(button.value) : null;
    if (!found || !button.form) {
      return;
    }
    var box = found[1];
    var part = box === "account" ? "account" : "history";
    var section = button.closest("section.editor-section");
    var rows = section ? section.querySelectorAll("tr.clerk-row") : [];
    if (!rows.length) {
      return;
    }
    var form = button.form;
    var next = 0;
    var named = form.querySelectorAll("[name]");
    var pattern = new RegExp("^\\$\\." + part + "\\[(\\d+)\\]\\.");
    for (var i = 0; i < named.length; i++) {
      var m = pattern.exec(named[i].name);
      if (m) {
        next = Math.max(next, parseInt(m[1], 10) + 1);
      }
    }
    var last = rows[rows.length - 1];
    var from = /-(\d+)$/.exec(last.id)[1];
    var row = last.cloneNode(true);
    var gone = row.querySelectorAll("p.note, p.locked-reason");
    for (i = 0; i < gone.length; i++) {
      gone[i].parentNode.removeChild(gone[i]);
    }
    var all = row.querySelectorAll("*");
    var attributes = ["id", "name", "for", "value", "aria-describedby"];
    for (i = 0; i < all.length; i++) {
      for (var a = 0; a < attributes.length; a++) {
        var value = all[i].getAttribute(attributes[a]);
        if (value !== null) {
          all[i].setAttribute(attributes[a], renumber(value, part, from, String(next)));
        }
      }
      all[i].removeAttribute("aria-invalid");
      var described = all[i].getAttribute("aria-describedby");
      if (described !== null) {
        var kept = described.split(" ").filter(function (id) { return /-hint$/.test(id); });
        if (kept.length) {
          all[i].setAttribute("aria-describedby", kept.join(" "));
        } else {
          all[i].removeAttribute("aria-describedby");
        }
      }
    }
    row.id = renumber(row.id, part, from, String(next));
    var number = String(next + 1);
    var header = row.querySelector("th");
    if (header && header.firstChild && header.firstChild.nodeType === 3) {
      header.firstChild.nodeValue = number;
    }
    var labels = row.querySelectorAll("label, button");
    for (i = 0; i < labels.length; i++) {
      labels[i].textContent = labels[i].textContent.replace(/\d+/, number);
    }
    var inputs = row.querySelectorAll("input[type=text]");
    for (i = 0; i < inputs.length; i++) {
      inputs[i].value = "";
      inputs[i].setAttribute("value", "");
    }
    var defaults = DEFAULTS[box] || {};
    var selects = row.querySelectorAll("select");
    for (i = 0; i < selects.length; i++) {
      var field = selects[i].name.replace(/^.*\]\./, "");
      selects[i].value = defaults[field] || "";
    }
    var hint = row.querySelector("input[type=hidden][name^='section-']");
    if (hint) {
      hint.name = "section-" + next;
      hint.value = box;
    }
    var tbody = last.parentNode;
    tbody.insertBefore(row, tbody.querySelector("tr.bureau-only"));
    var flag = form.querySelector("select[name='$." + part + "']");
    if (flag) {
      flag.value = "yes";
    }
    event.preventDefault();
    var first = row.querySelector("input[type=text], select");
    if (first) {
      first.focus();
    }
  }
  document.addEventListener("click", onClick);
})();

// workers: the list's "select all on this page" box works only through this
// file, so the page sends it hidden and this file shows it.
(function () {
  "use strict";
  var hidden = document.querySelectorAll("[data-select-all][hidden], [data-select-all-label][hidden]");
  for (var i = 0; i < hidden.length; i++) {
    hidden[i].hidden = false;
  }
})();
