// SkinStack dashboard: copy buttons. Loaded from /dashboard/assets (the CSP allows no inline
// script); the pages work without it, the short link is in a read-only field either way.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function () {
    var label = button.textContent;
    button.textContent = "Copied";
    button.classList.add("done");
    setTimeout(function () {
      button.textContent = label;
      button.classList.remove("done");
    }, 1500);
  };
  var fallback = function () {
    var field = button.parentElement.querySelector("input");
    if (field) {
      field.select();
      document.execCommand("copy");
    }
    done();
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, fallback);
  } else {
    fallback();
  }
});
