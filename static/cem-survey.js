/* Respondent page enhancement: hide a question while its display condition, which depends
   on an answer on the same page, does not hold. Without JavaScript every such question is
   shown and the server decides on submit; the rules mirror surveys/logic.py. */
(function () {
  var form = document.querySelector("form[data-survey]");
  var stateNode = document.getElementById("survey-state");
  if (!form || !stateNode) return;
  var state = JSON.parse(stateNode.textContent);

  function valueOf(key) {
    var inputs = form.querySelectorAll('[name="q_' + key + '"]');
    if (!inputs.length) return state.answers[key];
    var values = [];
    inputs.forEach(function (input) {
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) values.push(input.value);
      } else if (input.value !== "") {
        values.push(input.value);
      }
    });
    if (inputs[0].type === "checkbox") return values;
    if (!values.length) return null;
    var value = values[0];
    return value !== "" && !isNaN(value) ? Number(value) : value;
  }

  function holds(node) {
    if (node.all) return node.all.every(holds);
    if (node.any) return node.any.some(holds);
    if (node.not) return !holds(node.not);
    var fact = node.question !== undefined ? valueOf(node.question) : state.hidden[node.hidden];
    var empty = fact === null || fact === undefined || fact === "" || (Array.isArray(fact) && !fact.length);
    if (node.op === "answered") return !empty;
    if (node.op === "not_answered") return empty;
    if (empty) return false;
    var value = node.value;
    switch (node.op) {
      case "eq": return fact == value;
      case "ne": return fact != value;
      case "lt": return fact < value;
      case "lte": return fact <= value;
      case "gt": return fact > value;
      case "gte": return fact >= value;
      case "in": return value.indexOf(fact) >= 0;
      case "not_in": return value.indexOf(fact) < 0;
      case "contains": return fact.indexOf(value) >= 0;
    }
    return true;
  }

  function update() {
    form.querySelectorAll("[data-display]").forEach(function (question) {
      question.hidden = !holds(JSON.parse(question.getAttribute("data-display")));
    });
  }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
