// Draws every analytics chart on the page with ECharts, from the JSON the server rendered beside it.
(function () {
  "use strict";
  function axisChart(kind, data) {
    var stacked = kind === "stacked";
    return {
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 50, right: 20, top: 20, bottom: 60 },
      xAxis: { type: "category", data: data.x },
      yAxis: { type: "value" },
      series: data.series.map(function (s) {
        return { name: s.name, type: kind === "line" ? "line" : "bar", data: s.data, stack: stacked ? "total" : undefined,
                 connectNulls: true, showSymbol: data.x.length < 40 };
      }),
    };
  }
  function option(visual) {
    var data = visual.data;
    if (visual.chart === "pie") {
      return { tooltip: { trigger: "item" }, legend: { bottom: 0 },
               series: [{ type: "pie", radius: ["35%", "70%"], data: data.slices }] };
    }
    if (visual.chart === "matrix") {
      var max = Math.max.apply(null, data.cells.map(function (c) { return c[2]; }).concat([0.0001]));
      return { tooltip: { position: "top" }, grid: { left: 90, right: 20, top: 10, bottom: 80 },
               xAxis: { type: "category", data: data.x }, yAxis: { type: "category", data: data.y },
               visualMap: { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0 },
               series: [{ type: "heatmap", data: data.cells, label: { show: data.x.length <= 16 } }] };
    }
    if (visual.chart === "sankey") {
      return { tooltip: { trigger: "item" }, series: [{ type: "sankey", data: data.nodes, links: data.links, emphasis: { focus: "adjacency" } }] };
    }
    if (visual.chart === "funnel") {
      return { tooltip: { trigger: "item" }, series: [{ type: "funnel", sort: "none", data: data.slices, label: { formatter: "{b}: {c}" } }] };
    }
    return axisChart(visual.chart, data);
  }
  function draw(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var source = document.getElementById(el.dataset.chart);
      if (!source || !window.echarts) return;
      var chart = window.echarts.init(el);
      chart.setOption(option(JSON.parse(source.textContent)));
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  draw(document);
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
