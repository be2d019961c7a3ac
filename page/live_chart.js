// A chart's node belongs to the page, not to a mount: the host places it, feeds update it. Figures that arrive while
// one draws are skipped but the latest, so a slow browser draws less often and never falls behind. A figure that
// arrives while the chart has no width (its tab hidden, or its host hidden by a script run that has not placed it
// again yet) waits, and is drawn as soon as the chart is shown again, at whatever width.
const charts = (window.twolayerLiveCharts ||= {});
const RETRY_MS = 1000; // after a draw that failed: the figure it left waiting is tried again this much later
const ANNOUNCE_MS = 5000; // a screen reader hears a chart's progress at most this often, its latest always in the end
const UNSEEN = 'position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap;';
let plotly = null;

function chartNamed(name) {
  if (!charts[name]) {
    const node = document.createElement('div');
    node.className = 'tl-live-chart';
    node.setAttribute('role', 'figure');
    // Beside the chart, for its progress: a polite live region, read out when the reader is idle.
    const live = document.createElement('div');
    live.className = 'tl-live-progress';
    live.setAttribute('aria-live', 'polite');
    live.style.cssText = UNSEEN;
    const chart = { node, live, figure: null, drawing: false, width: 0, said: 0, saying: null };
    new ResizeObserver(() => {
      const width = node.offsetWidth;
      if (!width) return;
      if (width !== chart.width && node._fullLayout && window.Plotly) window.Plotly.Plots.resize(node);
      chart.width = width;
      // Shown again, often at the width it had: Streamlit hides a host it keeps while a script run rebuilds the page,
      // and a run's last frames can come meanwhile. Without this they would wait for a frame that never comes.
      kick(chart);
    }).observe(node);
    charts[name] = chart;
  }
  return charts[name];
}

function kick(chart) {
  if (chart.drawing || !chart.figure || !chart.node.offsetWidth) return;
  chart.drawing = true;
  draw(chart).then(
    // Again once done: a figure that came between the loop's last look and this callback would wait for a next one.
    () => {
      chart.drawing = false;
      kick(chart);
    },
    (error) => {
      chart.drawing = false;
      console.error('twolayer live chart: a draw failed', error);
      setTimeout(() => kick(chart), RETRY_MS); // not at once: a failure that repeats must not spin the page
    },
  );
}

async function draw(chart) {
  // The frontend's own chart module, by the URL its lazy import uses: loaded once, and it sets window.Plotly.
  plotly ||= import(new URL(chart.chartCode, document.baseURI).href).then(
    () => window.Plotly,
    (error) => {
      plotly = null; // fetched again next time: a request the busy server dropped is no reason to stop drawing
      throw error;
    },
  );
  const Plotly = await plotly;
  while (chart.figure && chart.node.offsetWidth) {
    const figure = JSON.parse(chart.figure);
    chart.figure = null;
    await Plotly.react(chart.node, figure.data, figure.layout, chart.config);
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

function announce(chart, text) {
  chart.progress = text;
  if (chart.saying) return; // the latest text goes out when the one waiting is due
  const say = () => {
    chart.saying = null;
    chart.said = Date.now();
    chart.live.textContent = chart.progress;
  };
  chart.saying = setTimeout(say, Math.max(0, chart.said + ANNOUNCE_MS - Date.now()));
}

export default function ({ data, parentElement }) {
  const chart = chartNamed(data.name);
  if (data.host) {
    // A host that the page replaced before this call ran (the frontend calls it asynchronously): placing the chart
    // there would take it off the page.
    if (chart.node.parentNode === parentElement || !parentElement.isConnected) return;
    // Placed anew (the page had shown something else here): the last run's chart must not flash up. Not while a
    // figure is being drawn into it: that draw would fail and its figure be lost.
    if (!chart.node.isConnected && !chart.drawing && window.Plotly) window.Plotly.purge(chart.node);
    parentElement.append(chart.node, chart.live);
  } else {
    Object.assign(chart, { figure: data.figure, config: data.config, chartCode: data.chartCode });
    chart.node.setAttribute('aria-label', data.label);
    if (data.progress) announce(chart, data.progress);
  }
  kick(chart);
}
