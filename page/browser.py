"""The page's last element: a component of our own with nothing to show, for what the browser does beside drawing.

It sets the browser's id cookie when the browser came without one (and a leading page's lead cookie), and once the
page has settled it loads the frontend's chart code, so that neither the opening page nor the first Train waits for
it. It also links each chart to the caption that describes it (aria-describedby), as charts and captions come and go.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st


def _chart_code() -> str | None:
    """The frontend's Plotly module, by the path the page's own scripts load it from; None if there is not one."""
    # Streamlit's frontend fetches and compiles this module (4.6 MB) when it draws its first chart: loaded ahead
    # it costs the first Train nothing, and loaded after the page settles it costs the opening page nothing.
    found = list((Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    return f"./static/js/{found[0].name}" if len(found) == 1 else None


CHART_CODE = _chart_code()
FIGURE_KEY = "tl-figure-"  # a chart's keyed container, which holds it and its caption
# st.html with scripts allowed would cost the first paint most of a second; a component of our own costs little.
# Importing the module by the same URL as the frontend's own lazy import makes it the same module, loaded once.
# A chart and its caption share a keyed container (page.plot, page.live_chart): the caption gets an id from the
# container's key, and the chart (Streamlit's Plotly element or a live chart's node) points to it.
_hook = st.components.v2.component(
    "twolayer.browser_hook",
    js="""
const link = (prefix) => {
  for (const box of document.querySelectorAll(`[class*="${prefix}"]`)) {
    const id = [...box.classList].find((name) => name.startsWith(prefix)) + '-words';
    const chart = box.querySelector('[data-testid="stPlotlyChart"], .tl-live-chart');
    const words = [...box.querySelectorAll('[data-testid="stCaptionContainer"]')]
      .find((caption) => !caption.closest('[data-testid="stExpander"]'));
    if (!chart || !words) continue;
    if (words.id !== id) words.id = id;
    if (chart.getAttribute('aria-describedby') !== id) chart.setAttribute('aria-describedby', id);
  }
};

export default function ({ data }) {
  if (!window.twolayerLinked) {
    window.twolayerLinked = true;  // one watcher per page; a change to the page is looked at once it settles
    let due = null;
    const soon = () => { due ||= setTimeout(() => { due = null; link(data.figureKey); }, 150); };
    new MutationObserver(soon).observe(document.body, { childList: true, subtree: true });
    soon();
  }
  for (const cookie of data.cookies) document.cookie = cookie;
  if (!data.chartCode || window.twolayerChartCode) return;
  window.twolayerChartCode = true;  // once per page, however often it redraws
  const load = () => import(new URL(data.chartCode, document.baseURI).href).catch(() => {});
  setTimeout(() => (window.requestIdleCallback || setTimeout)(load, { timeout: 2000 }), 300);
}
""",
)


def browser_hook(*cookies: str | None) -> None:
    """Set the `cookies` given (None: none) in the browser, load the chart code once the page has settled, and link
    each chart to its caption from now on."""
    # Drawn on every script run, at the end of the page, so that it keeps its place and comes after the controls.
    data = {"cookies": [c for c in cookies if c], "chartCode": CHART_CODE, "figureKey": "st-key-" + FIGURE_KEY}
    _hook(key="browser_hook", data=data)
