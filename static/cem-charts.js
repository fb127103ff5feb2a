/* Draw every <div data-plotly="{figure, config}"> with plotly.js (loaded before this file). */
(function () {
  function draw() {
    document.querySelectorAll("[data-plotly]").forEach(function (element) {
      var spec = JSON.parse(element.getAttribute("data-plotly"));
      window.Plotly.newPlot(element, spec.figure.data, spec.figure.layout, spec.config);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
