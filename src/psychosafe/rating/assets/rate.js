// Keyboard shortcuts for the rating form. The form works without this script.
(function () {
  "use strict";
  var form = document.getElementById("rating-form");
  if (!form) return;
  var groups = Array.prototype.slice.call(form.querySelectorAll("fieldset.dim"));
  var cur = groups.findIndex(function (g) { return !g.querySelector("input:checked"); });
  if (cur < 0) cur = 0;
  function mark() {
    groups.forEach(function (g, i) { g.classList.toggle("current", i === cur); });
    if (groups[cur]) groups[cur].scrollIntoView({ block: "nearest" });
  }
  groups.forEach(function (g, i) { g.addEventListener("click", function () { cur = i; mark(); }); });
  mark();
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "radio"))) return;
    var k = e.key;
    if (/^[0-5]$/.test(k)) {
      var input = groups[cur] && groups[cur].querySelector('input[value="' + k + '"]');
      if (input) {
        input.checked = true;
        if (cur < groups.length - 1) cur += 1;
        mark();
      }
      e.preventDefault();
    } else if ((k === "ArrowDown" || k === "j") && !(t && t.type === "radio")) {
      cur = Math.min(cur + 1, groups.length - 1); mark(); e.preventDefault();
    } else if ((k === "ArrowUp" || k === "k") && !(t && t.type === "radio")) {
      cur = Math.max(cur - 1, 0); mark(); e.preventDefault();
    } else if (k === "Enter") {
      if (t && t.tagName === "BUTTON") return;
      e.preventDefault();
      form.requestSubmit(document.getElementById("save"));
    } else if (k === "s") {
      e.preventDefault();
      document.getElementById("skip").click();
    } else if (k === "b") {
      var back = document.getElementById("back");
      if (back) { e.preventDefault(); back.click(); }
    } else if (k === "c") {
      e.preventDefault();
      document.getElementById("comment").focus();
    }
  });
})();
