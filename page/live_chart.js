// A chart's node belongs to the page, not to a mount: the host places it, feeds update it. Figures that arrive while
// one draws are skipped but the latest, so a slow browser draws less often and never falls behind; a chart whose tab
// is hidden draws when it is shown.
const charts = (window.twolayerLiveCharts ||= {});
let plotly = null;

function chartNamed(name) {
  if (!charts[name]) {
    const node = document.createElement('div');
    node.className = 'tl-live-chart';
    node.setAttribute('role', 'figure');
    const chart = { node, figure: null, drawing: false, width: 0 };
    new ResizeObserver(() => {
      if (!node.offsetWidth || node.offsetWidth === chart.width) return;
      chart.width = node.offsetWidth;
      if (node._fullLayout && window.Plotly) window.Plotly.Plots.resize(node);
      kick(chart);
    }).observe(node);
    charts[name] = chart;
  }
  return charts[name];
}

function kick(chart) {
  if (chart.drawing || !chart.figure || !chart.node.offsetWidth) return;
  chart.drawing = true;
  // Again once done: a figure that came between the loop's last look and this callback would wait for a next one.
  draw(chart).finally(() => { chart.drawing = false; kick(chart); });
}

async function draw(chart) {
  // The frontend's own chart module, by the URL its lazy import uses: loaded once, and it sets window.Plotly.
  plotly ||= import(new URL(chart.chartCode, document.baseURI).href).then(() => window.Plotly);
  const Plotly = await plotly;
  while (chart.figure && chart.node.offsetWidth) {
    const figure = JSON.parse(chart.figure);
    chart.figure = null;
    await Plotly.react(chart.node, figure.data, figure.layout, chart.config);
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

export default function ({ data, parentElement }) {
  const chart = chartNamed(data.name);
  if (data.host) {
    if (chart.node.parentNode === parentElement) return;
    // Placed anew (the page had shown something else here): the last run's chart must not flash up.
    if (!chart.node.isConnected && window.Plotly) window.Plotly.purge(chart.node);
    parentElement.appendChild(chart.node);
  } else {
    Object.assign(chart, { figure: data.figure, config: data.config, chartCode: data.chartCode });
    chart.node.setAttribute('aria-label', data.label);
  }
  kick(chart);
}
