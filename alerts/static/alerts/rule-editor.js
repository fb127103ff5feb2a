// The alert rule editor, enhanced: rows are added and removed in place, each row offers only
// the operators that fit its fact, and shows a number box or the fact's values. The form works
// without this script; the server checks every row either way.
(function () {
  "use strict";
  var form = document.querySelector("form.rule-editor");
  var specs = document.getElementById("rule-facts");
  if (!form || !specs) return;
  var facts = JSON.parse(specs.textContent);
  var rows = form.querySelector("[data-rows]");
  var template = document.getElementById("condition-row-template");
  var total = form.querySelector("input[name$='-TOTAL_FORMS']");
  var most = form.querySelector("input[name$='-MAX_NUM_FORMS']");
  var addButton = form.querySelector("[data-add-row]");

  function part(row, role) {
    return row.querySelector("[data-role='" + role + "']");
  }

  function show(element, visible) {
    element.hidden = !visible;
    element.disabled = !visible;
  }

  function refresh(row) {
    var spec = facts[part(row, "fact").value];
    var op = part(row, "op");
    var value = part(row, "value");
    var choices = part(row, "choices");
    Array.prototype.forEach.call(op.options, function (option) {
      var fits = !spec || !option.value || spec.ops.indexOf(option.value) >= 0;
      option.hidden = !fits;
      option.disabled = !fits;
    });
    if (spec && spec.ops.indexOf(op.value) < 0) op.value = spec.ops[0];

    var number = Boolean(spec) && spec.kind === "number";
    show(value, !spec || number);
    if (number) {
      value.type = "number";
      value.min = spec.min;
      value.max = spec.max;
      value.step = spec.step;
    } else {
      value.type = "text";
      ["min", "max", "step"].forEach(function (name) { value.removeAttribute(name); });
    }
    show(choices, !number);
    Array.prototype.forEach.call(choices.querySelectorAll("optgroup"), function (group) {
      var mine = !spec || group.getAttribute("data-group") === spec.group;
      group.hidden = !mine;
      group.disabled = !mine;
      if (!mine) {
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
          option.selected = false;
        });
      }
    });
    var several = op.value === "in";
    if (choices.multiple !== several) {
      choices.multiple = several;
      if (several) choices.size = 6;
      else choices.removeAttribute("size");
    }
  }

  function countRows() {
    if (addButton && most) addButton.disabled = Number(total.value) >= Number(most.value);
  }

  function enhance(row) {
    part(row, "fact").addEventListener("change", function () { refresh(row); });
    part(row, "op").addEventListener("change", function () { refresh(row); });
    var remove = row.querySelector("[data-remove-row]");
    var noScript = row.querySelector("[data-no-js]");
    var removed = noScript.querySelector("input[type=checkbox]");
    remove.hidden = false;
    noScript.hidden = true;
    row.hidden = removed.checked; // removed before the page came back with other errors
    remove.addEventListener("click", function () {
      removed.checked = true;
      row.hidden = true;
    });
    refresh(row);
  }

  Array.prototype.forEach.call(rows.querySelectorAll("[data-condition-row]"), enhance);
  if (addButton) {
    addButton.addEventListener("click", function (event) {
      event.preventDefault();
      var index = Number(total.value);
      rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, index));
      total.value = String(index + 1);
      var row = rows.lastElementChild;
      enhance(row);
      countRows();
      part(row, "fact").focus();
    });
  }
  countRows();
})();
