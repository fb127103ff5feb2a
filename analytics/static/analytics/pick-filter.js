// A long list of checkboxes (a scheduled report's recipients: a bank has thousands of members)
// narrowed as one types: every option whose text does not hold what was typed is hidden, the
// ticked ones always stay in sight, and a status line says how many are shown and ticked.
// Without JavaScript the whole list shows, as before.
(function () {
  "use strict";

  function wire(input) {
    const list = document.getElementById(input.dataset.filters);
    const status = document.getElementById(input.dataset.status);
    if (!list) return;
    const options = Array.from(list.querySelectorAll("label")).map((label) => ({
      row: label.parentElement,
      box: label.querySelector("input[type=checkbox]"),
      text: label.textContent.toLowerCase(),
    }));

    function update() {
      const wanted = input.value.trim().toLowerCase();
      let shown = 0;
      let chosen = 0;
      for (const option of options) {
        const ticked = option.box && option.box.checked;
        const visible = ticked || !wanted || option.text.includes(wanted);
        option.row.hidden = !visible;
        shown += visible ? 1 : 0;
        chosen += ticked ? 1 : 0;
      }
      if (status) {
        status.textContent = (status.dataset.template || "")
          .replace("{shown}", shown)
          .replace("{total}", options.length)
          .replace("{chosen}", chosen);
      }
    }

    input.addEventListener("input", update);
    list.addEventListener("change", update);
    update();
  }

  document.querySelectorAll("input[data-filters]").forEach(wire);
})();
