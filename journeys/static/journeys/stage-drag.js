// Drag the stages of the journey editor into a new order. Without JavaScript (or with a
// keyboard) the up/down buttons do the same; this only adds dragging, then posts the order.
(function () {
  "use strict";
  var list = document.querySelector(".journey-stages");
  var form = document.getElementById("stage-order-form");
  if (!list || !form) return;
  var dragged = null;
  var before = "";

  function order() {
    return Array.prototype.map.call(list.children, function (item) {
      return item.dataset.stage;
    }).join(",");
  }

  Array.prototype.forEach.call(list.children, function (item) {
    item.setAttribute("draggable", "true");
  });
  list.addEventListener("dragstart", function (event) {
    dragged = event.target.closest && event.target.closest("li[data-stage]");
    if (!dragged) return;
    before = order();
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.stage);
  });
  list.addEventListener("dragover", function (event) {
    if (!dragged) return;
    event.preventDefault(); // allow the drop anywhere on the list, the dragged stage too
    var item = event.target.closest && event.target.closest("li[data-stage]");
    if (!item || item === dragged) return;
    var box = item.getBoundingClientRect();
    list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? item.nextSibling : item);
  });
  list.addEventListener("drop", function (event) {
    event.preventDefault();
  });
  list.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    if (order() === before) return;
    document.getElementById("stage-order").value = order();
    form.submit();
  });
})();
