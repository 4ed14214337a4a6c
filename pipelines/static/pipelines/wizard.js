// The wizard shows the fields of the choices made (provider, sink, Redshift mode); the server ignores the rest.
(function () {
  "use strict";
  var form = document.getElementById("pipeline-wizard");
  if (!form) return;
  function value(name) {
    var checked = form.querySelector('[name="' + name + '"]:checked');
    if (checked) return checked.value;
    var el = form.querySelector('select[name="' + name + '"], input[name="' + name + '"]:not([type=radio])');
    return el ? el.value : "";
  }
  function refresh() {
    form.querySelectorAll("[data-shown-for]").forEach(function (el) {
      var rule = el.dataset.shownFor.split("=");
      el.hidden = value(rule[0]) !== rule[1];
    });
  }
  form.addEventListener("change", refresh);
  document.addEventListener("htmx:afterSwap", refresh);
  refresh();
})();
