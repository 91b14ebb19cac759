// The records dashboard's chart (/records/stats): records per month by
// kind as stacked bars and the flagged share as a line. The same numbers
// are in the table below it, so the page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("records-chart");
    if (!el || typeof echarts === "undefined") return;
    var d = JSON.parse(el.getAttribute("data-chart"));
    var series = d.kinds.map(function (k) {
      return { name: k.name, type: "bar", stack: "records", data: k.data, emphasis: { focus: "series" } };
    });
    series.push({ name: d.share_name, type: "line", yAxisIndex: 1, data: d.share, connectNulls: false,
      symbolSize: 6, lineStyle: { width: 2 }, itemStyle: { color: "#b42318" } });
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      aria: { enabled: true },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 40, bottom: 32 },
      xAxis: { type: "category", data: d.months },
      yAxis: [
        { type: "value", name: d.count_name, minInterval: 1 },
        { type: "value", name: d.share_name, min: 0, max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } }
      ],
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
