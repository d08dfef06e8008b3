/* The console's Insights charts (/staff/insights), drawn by Chart.js (/vendor/chart.js).
 *
 * Each `.chart` element names a table (data-table) and a chart type (data-chart): the
 * chart is drawn from that table's numbers, so the chart and the accessible table under
 * it always agree. The first column labels the rows; every further column is a series.
 * Without JavaScript, or without Chart.js, the tables alone are shown.
 */
(function () {
  "use strict";

  var COLOURS = ["#0d5f6f", "#f2a900", "#9b2c1f", "#51666b", "#6a8f3a"];

  function cellText(cell) {
    return (cell.textContent || "").trim();
  }

  function readTable(table) {
    var headers = Array.prototype.map.call(table.querySelectorAll("thead th"), cellText);
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    var labels = rows.map(function (row) { return cellText(row.cells[0]); });
    var series = headers.slice(1).map(function (name, index) {
      return {
        label: name,
        data: rows.map(function (row) { return Number(cellText(row.cells[index + 1])) || 0; }),
        backgroundColor: COLOURS[index % COLOURS.length],
        borderColor: COLOURS[index % COLOURS.length],
      };
    });
    return { labels: labels, datasets: series };
  }

  function draw(box) {
    var table = document.getElementById(box.getAttribute("data-table"));
    var canvas = box.querySelector("canvas");
    if (!table || !canvas) {
      return;
    }
    new window.Chart(canvas, {
      type: box.getAttribute("data-chart") === "line" ? "line" : "bar",
      data: readTable(table),
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }

  function start() {
    var boxes = document.querySelectorAll(".chart[data-table]");
    if (typeof window.Chart !== "function") {
      boxes.forEach(function (box) { box.hidden = true; });
      return;
    }
    boxes.forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
