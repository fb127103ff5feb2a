// Drag the stages of the journey editor into a new order. Without JavaScript (or with a
// keyboard) the up/down buttons do the same; this only adds dragging, then posts the order.
(function () {
  "use strict";
  var list = document.querySelector(".journey-stages");
  var form = document.getElementById("stage-order-form");
  if (!list || !form) return;
  var dragged = null;
  Array.prototype.forEach.call(list.children, function (item) {
    item.setAttribute("draggable", "true");
    item.addEventListener("dragstart", function (event) {
      dragged = item;
      item.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", item.dataset.stage);
    });
    item.addEventListener("dragend", function () {
      item.classList.remove("dragging");
    });
    item.addEventListener("dragover", function (event) {
      if (!dragged || dragged === item) return;
      event.preventDefault();
      var box = item.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? item.nextSibling : item);
    });
    item.addEventListener("drop", function (event) {
      event.preventDefault();
    });
  });
  list.addEventListener("drop", function () {
    if (!dragged) return;
    dragged = null;
    var order = Array.prototype.map.call(list.children, function (item) {
      return item.dataset.stage;
    });
    document.getElementById("stage-order").value = order.join(",");
    form.submit();
  });
})();
