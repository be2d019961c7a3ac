// A chart's node belongs to the page, not to a mount: the host places it, feeds update it. A feed holds the whole
// figure (a script run's first) or a patch to the one before it (see twolayer/charts/delta.py), which the chart keeps
// and applies in order. Figures that arrive while one draws are skipped but the latest, so a slow browser draws less
// often and never falls behind. A figure that arrives while the chart has no width (its tab hidden, or its host
// hidden by a script run that has not placed it again yet) waits, and is drawn as soon as the chart is shown again,
// at whatever width.
const charts = (window.twolayerLiveCharts ||= {});
const RETRY_MS = 1000; // after a draw that failed: the figure it left waiting is tried again this much later
const ANNOUNCE_MS = 5000; // a screen reader hears a chart's progress at most this often, its latest always in the end
const UNSEEN = 'position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap;';
// A feed missing this long (its successors came, it did not): the chart asks the server for a whole figure.
const RESYNC_MS = 2000;
const TYPES = {
  f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array,
  i2: Int16Array, u2: Uint16Array, i1: Int8Array, u1: Uint8Array,
};
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
    // kept: the figure as the server last sent it, in feed `seq` of script run `stream`; pending: later feeds that
    // came before one they follow, by "stream:base"; ended: the streams of earlier script runs.
    const chart = { node, live, figure: null, drawing: false, width: 0, said: 0, saying: null, kept: null,
      stream: null, seq: -1, pending: {}, ended: new Set() };
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
    // A copy: Plotly writes into what it draws, and the kept figure must stay as the server has it for the patches.
    const figure = structuredClone(chart.figure);
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

function values(value) {
  if (!value || !value.bdata) return value;
  const bytes = Uint8Array.from(atob(value.bdata), (c) => c.charCodeAt(0));
  return new TYPES[value.dtype](bytes.buffer);
}

// The value `patch` makes of `old`: as twolayer/charts/delta.py's `diff` describes, new objects wherever it changes.
function patched(old, patch) {
  if (!patch) return old;
  if ('=' in patch) return patch['='];
  if ('+' in patch) {
    const [kept, tail] = patch['+'];
    if (!tail || !tail.bdata) return old.slice(0, kept).concat(tail);
    const before = values(old), after = values(tail);
    const joined = new before.constructor(kept + after.length);
    joined.set(before.subarray(0, kept));
    joined.set(after, kept);
    return joined;
  }
  if ('|' in patch) {
    const [kept, tails] = patch['|'];
    return old.map((row, i) => row.slice(0, kept).concat(tails[i]));
  }
  if ('[' in patch) {
    const out = old.slice();
    for (const [i, item] of patch['[']) out[i] = patched(old[i], item);
    return out;
  }
  const out = { ...old };
  for (const [key, item] of Object.entries(patch['{'])) out[key] = patched(old[key], item);
  for (const key of patch['-'] || []) delete out[key];
  return out;
}

function receive(chart, data) {
  if (chart.ended.has(data.stream)) return; // a feed of an earlier script run, come late
  let changed = false;
  if (data.figure) {
    if (chart.stream !== null && chart.stream !== data.stream) chart.ended.add(chart.stream);
    Object.assign(chart, { kept: data.figure, stream: data.stream, seq: data.seq, config: data.config });
    chart.chartCode = data.chartCode;
    labelled(chart, data);
    for (const key of Object.keys(chart.pending)) if (!key.startsWith(`${data.stream}:`)) delete chart.pending[key];
    changed = true;
  } else if (data.stream !== chart.stream || data.base >= chart.seq) {
    chart.pending[`${data.stream}:${data.base}`] = data;
  }
  for (let feed; (feed = chart.pending[`${chart.stream}:${chart.seq}`]); changed = true) {
    delete chart.pending[`${chart.stream}:${chart.seq}`];
    chart.kept = patched(chart.kept, feed.patch);
    chart.seq = feed.seq;
    labelled(chart, feed);
  }
  if (changed) chart.figure = chart.kept;
  if (Object.keys(chart.pending).length) {
    const [stream, seq] = [chart.stream, chart.seq];
    setTimeout(() => {
      const stuck = chart.stream === stream && chart.seq === seq && Object.keys(chart.pending).length;
      if (stuck) chart.resync?.();
    }, RESYNC_MS);
  }
}

// A feed's accessible name for the chart, and its progress to announce, when it carries them.
function labelled(chart, feed) {
  if (feed.label !== undefined) chart.node.setAttribute('aria-label', feed.label);
  if (feed.progress) announce(chart, feed.progress);
}

export default function ({ data, parentElement, setTriggerValue }) {
  const chart = chartNamed(data.name);
  if (data.host) {
    if (setTriggerValue) chart.resync = () => setTriggerValue('resync', true);
    // A host that the page replaced before this call ran (the frontend calls it asynchronously): placing the chart
    // there would take it off the page.
    if (chart.node.parentNode === parentElement || !parentElement.isConnected) return;
    // Placed anew (the page had shown something else here): the last run's chart must not flash up. Not while a
    // figure is being drawn into it: that draw would fail and its figure be lost.
    if (!chart.node.isConnected && !chart.drawing && window.Plotly) window.Plotly.purge(chart.node);
    parentElement.append(chart.node, chart.live);
  } else {
    receive(chart, data);
  }
  kick(chart);
}
