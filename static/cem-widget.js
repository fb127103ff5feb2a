/* CEM survey widget: <script src=".../cem-widget.js" data-survey-url="https://.../s/TOKEN/"
   data-mode="popup|inline" data-label="意见反馈" async></script>
   popup: a floating button opens the survey in a dialog; inline: the survey takes the
   script's place. The survey itself is the normal respondent page in an iframe. */
(function () {
  var script = document.currentScript;
  if (!script) return;
  var url = script.getAttribute("data-survey-url");
  if (!url) return;
  var mode = script.getAttribute("data-mode") || "popup";
  function frame(height) {
    var iframe = document.createElement("iframe");
    iframe.src = url;
    iframe.title = script.getAttribute("data-label") || "Survey";
    iframe.style.cssText = "width:100%;border:0;height:" + height + ";";
    return iframe;
  }
  if (mode === "inline") {
    var box = document.createElement("div");
    box.className = "cem-survey-inline";
    box.appendChild(frame(script.getAttribute("data-height") || "640px"));
    script.parentNode.insertBefore(box, script);
    return;
  }
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = script.getAttribute("data-label") || "意见反馈";
  button.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483000;padding:10px 16px;" +
    "border:0;border-radius:24px;background:#1d4ed8;color:#fff;font-size:15px;box-shadow:0 2px 8px rgba(0,0,0,.2);";
  button.addEventListener("click", function () {
    var overlay = document.createElement("div");
    overlay.style.cssText = "position:fixed;inset:0;background:rgba(15,23,42,.5);z-index:2147483001;" +
      "display:flex;align-items:center;justify-content:center;";
    var dialog = document.createElement("div");
    dialog.setAttribute("role", "dialog");
    dialog.style.cssText = "background:#fff;width:min(480px,100%);height:min(720px,100%);border-radius:8px;" +
      "overflow:hidden;position:relative;";
    var close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.textContent = "×";
    close.style.cssText = "position:absolute;right:8px;top:4px;border:0;background:none;font-size:24px;cursor:pointer;";
    close.addEventListener("click", function () { overlay.remove(); });
    dialog.appendChild(close);
    dialog.appendChild(frame("100%"));
    overlay.appendChild(dialog);
    overlay.addEventListener("click", function (event) { if (event.target === overlay) overlay.remove(); });
    document.body.appendChild(overlay);
  });
  document.body.appendChild(button);
})();
