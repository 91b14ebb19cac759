// Progressive enhancement only: every page works without this file.
// On the organization form, show only the fieldsets for the chosen kind.
(function () {
  "use strict";
  function syncKind(select) {
    var kind = select.value;
    document.querySelectorAll("fieldset[data-kind]").forEach(function (fs) {
      var kinds = fs.getAttribute("data-kind").split(" ");
      fs.hidden = kinds.indexOf(kind) < 0;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("[data-kind-switch]");
    if (!select) return;
    syncKind(select);
    select.addEventListener("change", function () { syncKind(select); });
  });
})();
