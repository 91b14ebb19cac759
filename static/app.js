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

// Province → city → county pickers that add GB/T 2260 codes to a text field.
(function () {
  "use strict";
  function fill(select, parent) {
    var url = "/api/v1/divisions" + (parent ? "?parent=" + encodeURIComponent(parent) : "");
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (list) {
      var first = select.options[0];
      select.innerHTML = "";
      select.appendChild(first);
      list.forEach(function (d) {
        var o = document.createElement("option");
        o.value = d.code; o.textContent = d.name + " " + d.code;
        select.appendChild(o);
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var input = document.querySelector("[data-division-picker]");
    if (!input) return;
    var box = input.parentElement.querySelector(".division-picker");
    var sels = box.querySelectorAll("select");
    box.hidden = false;
    fill(sels[0], null);
    sels[0].addEventListener("change", function () { fill(sels[1], sels[0].value); sels[2].length = 1; });
    sels[1].addEventListener("change", function () { fill(sels[2], sels[1].value); });
    box.querySelector("[data-add-division]").addEventListener("click", function () {
      var code = sels[2].value || sels[1].value || sels[0].value;
      if (!code) return;
      var parts = input.value.split(/[\s,，、]+/).filter(Boolean);
      if (parts.indexOf(code) < 0) parts.push(code);
      input.value = parts.join(" ");
    });
  });
})();

// On the application form, show the new-station fieldset only when "a new
// station" is chosen (without script it is always shown).
document.addEventListener("DOMContentLoaded", function () {
  var select = document.getElementById("f-station");
  var box = document.querySelector("[data-new-station]");
  if (!select || !box) return;
  function sync() { box.hidden = select.value !== "new"; }
  select.addEventListener("change", sync);
  sync();
});

// On a new lifecycle request, choosing another station reloads the form
// with that station's items (without script, saving shows them).
document.addEventListener("DOMContentLoaded", function () {
  var select = document.querySelector("select[data-reload-on-change]");
  if (!select || select.disabled) return;
  select.addEventListener("change", function () {
    var url = new URL(window.location.href);
    url.searchParams.set("station_id", select.value);
    window.location.assign(url.toString());
  });
});

// Unsaved input is never thrown away without saying so: typing in one form
// and then submitting another (an upload, the language switch, another
// step) or leaving the page asks first.
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh").indexOf("zh") === 0;
  var msg = zh
    ? "本页有尚未保存的输入，继续将丢失这些内容。确定继续吗？"
    : "This page has unsaved input that will be lost. Continue?";
  var dirty = new Set();
  var leaving = false;
  document.addEventListener("input", function (e) {
    var f = e.target.form;
    if (f && f.method === "post" && !e.target.hasAttribute("data-no-guard")) dirty.add(f);
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    var others = Array.from(dirty).filter(function (d) { return d !== f; });
    if (others.length && !window.confirm(msg)) { e.preventDefault(); return; }
    leaving = true;
  }, true);
  window.addEventListener("beforeunload", function (e) {
    if (!leaving && dirty.size) { e.preventDefault(); e.returnValue = msg; return msg; }
  });
})();
