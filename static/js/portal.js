// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Suggest an id from a name while the id field is still untouched (ids are editable before creation).
  function suggestId(name, style) {
    var id = name.trim().replace(/[^\w]/g, "_");
    if (style === "project") {
      id = id.toLowerCase().replace(/^[^a-z]+/, "");
      var suffix = "";
      for (var i = 0; i < 4; i++) suffix += String.fromCharCode(97 + Math.floor(Math.random() * 26));
      return id ? (id + "_" + suffix).slice(0, 127) : "";
    }
    return id.replace(/^[^a-zA-Z]+/, "").slice(0, 127);
  }
  document.querySelectorAll("[data-suggest-id]").forEach(function (source) {
    var target = document.getElementById(source.dataset.suggestId);
    if (!target || target.disabled) return;
    var touched = target.value !== "";
    target.addEventListener("input", function () { touched = true; });
    source.addEventListener("change", function () {
      if (!touched) target.value = suggestId(source.value, source.dataset.idStyle);
    });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var el = document.querySelector(button.dataset.copy);
    var text = el.value !== undefined ? el.value : el.textContent;
    navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
  });
})();
// Progress bars take their width from data-progress (no inline styles, so a strict CSP holds).
(function () {
  "use strict";
  function paint(root) {
    root.querySelectorAll("[data-progress]").forEach(function (bar) { bar.style.width = bar.dataset.progress + "%"; });
  }
  paint(document);
  document.addEventListener("htmx:afterSwap", function () { paint(document); });
})();
